import Foundation
import MMoE

// mmoe-bench: a thin dispatcher over benchmark subcommands. Each subcommand parses its own flags and
// returns a process exit status (2 = bad usage).

let usage = """
usage: mmoe-bench <subcommand> [options]

subcommands:
  gemm [--threads N] [--json] [--numpy] [--bf16] [--cpu_time] [--shapes LIST]
      single-precision GEMM GFLOP/s on the model's shapes (NN, NT, TN).
      --threads N   threads to use (default 1; 0 = all cores)
      --json        one JSON object per line instead of a table
      --numpy       also time numpy (python3 Scripts/numpy_gemm.py) in the same run and print the ratio
      --bf16        also time the GEMM with inputs rounded to bfloat16 (Float accumulation)
      --cpu_time    time by the thread's CPU time, not the wall clock (a machine shared with other
                    jobs; needs --threads 1; numpy is timed the same way)
      --shapes LIST MxKxN[:NN|NT|TN],... instead of the model's shapes (e.g. a 128-row shard's:
                    128x127x256,128x256x127:NT); a shape with a variant is timed in that one only
  train [--config census|deeprec] [--threads 1,2] [--steps N] [--data_dir DIR] [--mode LIST] [--rounds N]
        [--batch_size N] [--variants LIST] [--json]
      MMoE training and evaluation samples/s (embedding 4, experts [256, 128] x 3, batch 256) per
      thread count, against the bound the GEMM speed puts on a step; peak RSS. All settings are
      timed in interleaved rounds, so a noisy neighbour slows them alike; the bounds are measured
      in every round, and "of bound" is the median of the rounds' shares.
      --config C      census (default): the OneFlow reference model above; deeprec: DeepRec's MMoE
                      (embedding 16, 4 experts and towers [256, 192, 128, 64], adagrad) at batch 512 on
                      Taobao data, in Float, bf16 and --tf variants, plus the data path's samples/s;
                      with Census data in --data_dir, DeepRec's model over Census's 29 fields and 11
                      dense features at batch 256 (the same optimizer settings)
      --threads LIST  thread counts to run (default 1,2)
      --steps N       timed training steps per setting (default 300)
      --data_dir DIR  the Census-income (or, with --config deeprec, Taobao) files (default: generated
                      rows of the same shape)
      --mode LIST     gemm (batches run whole, GEMMs split over threads) and/or shard (2 row
                      shards run concurrently: what mmoe-train does); default: the trainer's own
      --rounds N      rounds of timed windows (default 5)
      --batch_size N  rows per step (default 256; --config deeprec: 512 on Taobao, 256 on Census)
      --variants LIST with --config deeprec, which of float, bf16, tf to time (default all three)
  tape --data_dir DIR [--steps N] [--rounds N] [--timeline FILE]
      one step's forward + backward at 1 thread with each tape option (default, fuseEpilogues
      false, bfloat16 true), interleaved; per-op times from a Timeline; FILE gets a Chrome trace
      of 50 default steps (open in chrome://tracing or ui.perfetto.dev).
  checkpoint [--rounds N] [--dir DIR]
      milliseconds to save and load model.safetensors (encode with checksum, write, fsync, rename;
      read, verify, copy) for the Census model (OneFlow defaults) and DeepRec's Taobao model, with
      the encode and the read+verify alone; DIR defaults to a temporary directory.
  amp --data_dir DIR [--taobao DIR] [--steps N] [--rounds N] [--threads N]
      training step time of Float, --bf16, --amp static and --amp dynamic, interleaved, on the
      Census reference model and (with --taobao) DeepRec's Taobao model; ratios to Float.
  embedding [--rows 1e5,1e6,1e7] [--width 32] [--batch 512] [--fields 17] [--steps N] [--rounds N]
            [--zipf S] [--budget F] [--stores LIST] [--dir DIR]
      embedding-store lookups/s and sparse updates/s per store type (device_mem, cached_host_mem,
      cached_ssd) on Zipf-skewed id batches, with the cache hit rate, the store's resident bytes,
      the process RSS growth, and the cost of a full snapshot (cached_host_mem) or of the
      incremental commit (cached_ssd).
      --rows LIST    table sizes in rows (default 1e5,1e6,1e7)
      --width W      Floats per record (default 32: a 16-wide row and its Adagrad accumulator)
      --batch B, --fields F   ids per step: B x F, deduped (default 512 x 17)
      --steps N      timed steps per store (default 100), in --rounds N interleaved windows (default 3)
      --zipf S       the ids' Zipf exponent (default 1.05)
      --budget F     cached_ssd's cache budget as a fraction of the table (default 0.1)
      --stores LIST  which store types (default all three)
      --dir DIR      where cached_ssd's files go (default a temporary directory, deleted after)
  parquet [--dir DIR] [--file FILE] [--pyarrow] [--gz FILE] [--rounds N]
      rows/s of our Parquet reader on one thread (every column of every row group decoded) for
      OneFlow's Census folder (default ../shared/data/census-parquet) and one large file
      (Scripts/parquet_bench.py write-large writes one), and of the whole Census Parquet load.
      --pyarrow   also time pyarrow.parquet.read_table, single-threaded, on the same files
      --gz FILE   our inflate against the gzip -dc process on FILE, MB/s of output
  parquet --stream DIR [--stream_rows N] [--train_steps N] [--rounds N]
      the streamed Parquet data path (one thread: decode, ids, shuffle window, batches of 256) in
      rows/s over N rows (default 500000), against mmoe-train's samples/s with OneFlow's flags and
      --parquet_stream on over --train_steps (default 500), in interleaved rounds; DIR in OneFlow's
      layout (Scripts/parquet_bench.py write-folder writes a large one).
  csv [--rows N] [--file FILE] [--shape census|ids] [--threads 1,2] [--rounds N] [--pandas] [--builtin] [--shared DIR]
      rows/s and rows per CPU-second of the --schema data path (split, parse, scale, hash) on a
      generated Census-shaped 40-column CSV (or FILE, written there first when it does not
      exist), per thread count.
      --shape ids six of the sparse columns hold ids of 1,000 to 5,000,000 distinct values
      --pandas    also time pandas.read_csv on the same file (python3 Scripts/csv_bench.py)
      --builtin   also the Census and Taobao readers against the schema reader on the same raw
                  files (DIR/census, DIR/taobao; default ../shared/data), one thread
  schema-parquet --parquet FILE --schema FILE [--csv FILE] [--rounds N]
      rows/s of --schema on a Parquet file against the schema'd CSV reader on its CSV twin, one
      thread each (Scripts/make_schema_parquet_fixtures.py --large N DIR writes such a pair)
"""

func fail(_ message: String) -> Never {
    try? FileHandle.standardError.write(contentsOf: Data("mmoe-bench: \(message)\n\n\(usage)".utf8))
    exit(2)
}

// The allocator settings mmoe-train runs with, so the figures are the trainer's.
ProcessMemory.keepFreedHeap()
let arguments = Array(CommandLine.arguments.dropFirst())
guard let subcommand = arguments.first else { fail("missing subcommand") }
switch subcommand {
case "gemm":
    exit(benchGEMM(arguments: Array(arguments.dropFirst())))
case "train":
    exit(benchTrain(arguments: Array(arguments.dropFirst())))
case "tape":
    exit(benchTape(arguments: Array(arguments.dropFirst())))
case "checkpoint":
    exit(benchCheckpoint(arguments: Array(arguments.dropFirst())))
case "amp":
    exit(benchAMP(arguments: Array(arguments.dropFirst())))
case "embedding":
    exit(benchEmbedding(arguments: Array(arguments.dropFirst())))
case "parquet":
    exit(benchParquet(arguments: Array(arguments.dropFirst())))
case "csv":
    exit(benchCSV(arguments: Array(arguments.dropFirst())))
case "schema-parquet":
    exit(benchSchemaParquet(arguments: Array(arguments.dropFirst())))
case "-h", "--help", "help":
    print(usage)
default:
    fail("unknown subcommand '\(subcommand)'")
}
