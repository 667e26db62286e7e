#!/usr/bin/env python3
"""A reference encoder, in Python, of raw Census and Taobao rows into the inputs of an mmoe-export
ONNX graph (sparse_ids, tag_ids, dense), written from the description in
Sources/MMoE/MMoE.docc/Serving.md and the checkpoint's manifest alone, to show the encoding can
be reimplemented by a serving stack, and to check that description against mmoe-predict:

  python3 Scripts/serving_encoding.py --model_dir CKPT --input FILE --compare DIR

compares with the arrays `mmoe-predict --emit_inputs DIR` wrote for FILE (exit 1 on a mismatch).
Needs numpy.
"""
import argparse
import gzip
import json
import os
import struct
import sys

import numpy as np

MASK = (1 << 64) - 1


def field_hash(field, value):
    """FieldHash.key: FNV-1a 64 over the field index (4 bytes, little-endian) then the value's
    bytes, then SplitMix64's finaliser."""
    h = 0xCBF29CE484222325
    for b in field.to_bytes(4, "little") + value:
        h = ((h ^ b) * 0x100000001B3) & MASK
    h = ((h ^ (h >> 30)) * 0xBF58476D1CE4E5B9) & MASK
    h = ((h ^ (h >> 27)) * 0x94D049BB133111EB) & MASK
    return h ^ (h >> 31)


def read_manifest(model_dir):
    """The `manifest.*` entries of model.safetensors' metadata, JSON ones decoded."""
    with open(os.path.join(model_dir, "model.safetensors"), "rb") as f:
        (length,) = struct.unpack("<Q", f.read(8))
        meta = json.loads(f.read(length))["__metadata__"]
    out = {"dataset": meta["manifest.dataset"], "config": json.loads(meta["manifest.config"]),
           "keyed": meta.get("embedding_store.kind") == "dynamic"}
    for key in ("census_encoder", "taobao_encoding"):
        if "manifest." + key in meta:
            out[key] = json.loads(meta["manifest." + key])
    return out


CENSUS_COLUMNS = (
    "age class_worker det_ind_code det_occ_code education wage_per_hour hs_college marital_stat major_ind_code "
    "major_occ_code race hisp_origin sex union_member unemp_reason full_or_part_emp capital_gains capital_losses "
    "stock_dividends tax_filer_stat region_prev_res state_prev_res det_hh_fam_stat det_hh_summ instance_weight "
    "mig_chg_msa mig_chg_reg mig_move_reg mig_same mig_prev_sunbelt num_emp fam_under_18 country_father "
    "country_mother country_self citizenship own_or_self vet_question vet_benefits weeks_worked year income_50k").split()
CENSUS_DENSE = ("age wage_per_hour capital_gains capital_losses stock_dividends instance_weight num_emp own_or_self "
                "vet_benefits weeks_worked year").split()

TAOBAO_COLUMNS = ("clk buy pid adgroup_id cate_id campaign_id customer brand user_id cms_segid cms_group_id "
                  "final_gender_code age_level pvalue_level shopping_level occupation new_user_class_level "
                  "tag_category_list tag_brand_list price").split()
TAOBAO_BAGS = ("tag_category_list", "tag_brand_list")


def as_int64(keys):
    """Unsigned 64-bit keys as the int64 bit patterns the keyed graph inputs hold."""
    return np.array(keys, dtype=np.uint64).view(np.int64)


def offsets(rows):
    return np.cumsum([0] + list(rows[:-1])).tolist()


def encode_census(path, manifest):
    """sparse_ids [N, F] and dense [N, 11]: each value (blanks trimmed) looked up in the training
    vocabulary of its field (`values`, row = position), else the field's last (unknown) row;
    dense values min-max scaled with the training range and clipped to [0, 1]."""
    cfg, enc = manifest["config"], manifest["census_encoder"]
    names, rows = cfg["fieldNames"], cfg["fieldRows"]
    first = offsets(rows)
    lookup = [{v: i for i, v in enumerate(values)} for values in enc["values"]]
    lo, hi = np.float32(enc["denseMin"]), np.float32(enc["denseMax"])
    opener = gzip.open if path.endswith(".gz") else open
    keyed = manifest["keyed"]
    sparse, dense = [], []
    with opener(path, "rt", encoding="utf-8") as f:
        for line in f:
            line = line.strip(" \t\r\n")
            if not line:
                continue
            cols = dict(zip(CENSUS_COLUMNS, (c.strip(" \t\r") for c in line.removesuffix(".").split(","))))
            if keyed:
                sparse.append([field_hash(k, cols[n].encode()) for k, n in enumerate(names)])
            else:
                sparse.append([first[k] + lookup[k].get(cols[n], rows[k] - 1) for k, n in enumerate(names)])
            raw = np.float32([cols[n] for n in CENSUS_DENSE])
            span = hi - lo
            with np.errstate(divide="ignore", invalid="ignore"):
                scaled = np.where(span > 0, np.clip((raw - lo) / span, 0, 1), 0)
            dense.append(scaled.astype(np.float32))
    if keyed:
        return {"sparse_keys": as_int64(sparse), "dense": np.array(dense, dtype=np.float32)}
    return {"sparse_ids": np.array(sparse, dtype=np.int64), "dense": np.array(dense, dtype=np.float32)}


def encode_taobao(path, manifest):
    """sparse_ids [N, 15] and tag_ids [N, 2, L]: each value's bytes (untrimmed) hashed with its
    field's index among the 17 fields into the field's buckets; tag lists split at '|', empty tokens
    skipped; price is its own bucket."""
    names, buckets = manifest["config"]["fieldNames"], manifest["taobao_encoding"]["bucketSizes"]
    first = offsets(buckets)
    keyed = manifest["keyed"]
    sparse, bags = [], []
    with open(path, "rb") as f:
        for line in f:
            line = line.rstrip(b"\n")
            if not line.strip(b" \t\r"):
                continue
            cols = dict(zip(TAOBAO_COLUMNS, line.split(b",")))
            row, tags = [], []
            for k, name in enumerate(names):
                value = cols[name]
                if keyed:
                    # A --ev model takes the raw keys; price's is the key of its bucket's decimal text.
                    if name == "price":
                        row.append(field_hash(k, str(int(value)).encode()))
                    elif name in TAOBAO_BAGS:
                        tags.append([field_hash(k, t) for t in value.split(b"|") if t])
                    else:
                        row.append(field_hash(k, value))
                elif name == "price":
                    row.append(first[k] + int(value))
                elif name in TAOBAO_BAGS:
                    tags.append([first[k] + field_hash(k, t) % buckets[k] for t in value.split(b"|") if t])
                else:
                    row.append(first[k] + field_hash(k, value) % buckets[k])
            sparse.append(row)
            bags.append(tags)
    width = max([1] + [len(b) for tags in bags for b in tags])
    tag_ids = np.full((len(bags), len(TAOBAO_BAGS), width), -1, dtype=np.int64)
    for r, tags in enumerate(bags):
        for j, bag in enumerate(tags):
            tag_ids[r, j, :len(bag)] = as_int64(bag) if keyed else bag
    if keyed:
        return {"sparse_keys": as_int64(sparse), "tag_keys": tag_ids}
    return {"sparse_ids": np.array(sparse, dtype=np.int64), "tag_ids": tag_ids}


def encode(path, manifest):
    if manifest["dataset"] == "census":
        return encode_census(path, manifest)
    if manifest["dataset"] == "taobao":
        return encode_taobao(path, manifest)
    raise SystemExit(f"serving_encoding: no file format for {manifest['dataset']} data")


def compare(ours, directory):
    """True when every array in `ours` equals the .npy of the same name in `directory`."""
    ok = True
    for name, array in ours.items():
        theirs = np.load(os.path.join(directory, name + ".npy"))
        same = theirs.shape == array.shape and np.array_equal(theirs, array)
        print(f"encoding: {name} {array.shape}: {'identical' if same else 'DIFFERENT'} to mmoe-predict's")
        ok = ok and same
    return ok


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--model_dir", required=True)
    p.add_argument("--input", required=True)
    p.add_argument("--compare", required=True, help="the directory mmoe-predict --emit_inputs wrote")
    args = p.parse_args()
    return 0 if compare(encode(args.input, read_manifest(args.model_dir)), args.compare) else 1


if __name__ == "__main__":
    sys.exit(main())
