#!/usr/bin/env python3
"""Writes Tests/Fixtures/tensorboard/reference.tfevents with TensorBoard's own writer (the
`tensorboard` package's RecordWriter and protobuf classes): the file-version event, one event of
two scalars and one text summary, all with fixed wall times, so the file is the same every time.
TensorBoardEventTests checks that the project's writer produces these exact bytes (framing,
masked CRC-32C and protobuf encoding) from the same values.

    python3 Scripts/make_tensorboard_fixture.py
"""
import os

from tensorboard.compat.proto import event_pb2, summary_pb2, tensor_pb2, tensor_shape_pb2, types_pb2
from tensorboard.summary.writer.record_writer import RecordWriter

OUT = os.path.join(os.path.dirname(__file__), "..", "Tests", "Fixtures", "tensorboard", "reference.tfevents")


def main():
    os.makedirs(os.path.dirname(OUT), exist_ok=True)
    with open(OUT, "wb") as f:
        writer = RecordWriter(f)
        writer.write(event_pb2.Event(wall_time=1700000000.25, file_version="brain.Event:2").SerializeToString())
        scalars = summary_pb2.Summary(value=[
            summary_pb2.Summary.Value(tag="train/loss/income", simple_value=0.3125),
            summary_pb2.Summary.Value(tag="test/auc/income", simple_value=0.9375),
        ])
        writer.write(event_pb2.Event(wall_time=1700000001.5, step=100, summary=scalars).SerializeToString())
        tensor = tensor_pb2.TensorProto(dtype=types_pb2.DT_STRING, tensor_shape=tensor_shape_pb2.TensorShapeProto(),
                                        string_val=["| flag | value |\n|---|---|\n| seed | 2019 |".encode()])
        metadata = summary_pb2.SummaryMetadata(plugin_data=summary_pb2.SummaryMetadata.PluginData(plugin_name="text"),
                                               data_class=summary_pb2.DATA_CLASS_TENSOR)
        text = summary_pb2.Summary(value=[summary_pb2.Summary.Value(tag="flags", tensor=tensor, metadata=metadata)])
        writer.write(event_pb2.Event(wall_time=1700000002.0, step=0, summary=text).SerializeToString())
        writer.flush()
    print(f"wrote {os.path.normpath(OUT)} ({os.path.getsize(OUT)} bytes)")


if __name__ == "__main__":
    main()
