"""Checks tally's exports with the tools that consume them.

Run by .ci/consumers.sh with a directory of exports made by `tally export` from the demo
database, each with the dataset card tally wrote beside it, which says what the file holds.
Each check loads a file with a real consumer and compares rows, columns and labels with the
card and with the JSONL:

- JSONL and Parquet with Hugging Face `datasets` and with `pyarrow`;
- TFRecord with the `tfrecord` package into tf.Example features, both CRCs of every record
  checked with `crc32c`;
- Label Studio JSON through `label-studio-converter` to CSV, whose labels must equal the
  annotations tally wrote; and the same JSON imported back into a new project with
  `tally import --format label-studio` and exported again, item by item the same labels.

Prints one line per check and exits non-zero on the first failure.
"""

import csv
import json
import os
import struct
import sys
import tempfile

import crc32c
import datasets
import pyarrow.parquet as pq
from label_studio_converter import Converter
from tfrecord.reader import tfrecord_loader


def check(condition, message):
    if not condition:
        print(f"FAIL: {message}", file=sys.stderr)
        sys.exit(1)


def masked(crc):
    return (((crc >> 15) | (crc << 17)) + 0xA282EAD8) & 0xFFFFFFFF


def tfrecord_crcs(path):
    """Walks the framing and checks the length and data CRCs of every record."""
    count = 0
    with open(path, "rb") as f:
        while True:
            header = f.read(8)
            if not header:
                return count
            check(len(header) == 8, "a record header is cut short")
            (length,) = struct.unpack("<Q", header)
            (length_crc,) = struct.unpack("<I", f.read(4))
            check(masked(crc32c.crc32c(header)) == length_crc, f"length CRC of record {count}")
            data = f.read(length)
            (data_crc,) = struct.unpack("<I", f.read(4))
            check(masked(crc32c.crc32c(data)) == data_crc, f"data CRC of record {count}")
            count += 1


def main(directory):
    def card(name):
        with open(os.path.join(directory, f"{name}.card.json")) as f:
            return json.load(f)

    expected = card("items.jsonl")
    items = expected["stats"]["items"]
    labels = expected["stats"]["labels"]
    with open(os.path.join(directory, "items.jsonl")) as f:
        columns = set(json.loads(f.readline()))
    datasets.disable_progress_bars()

    jsonl = os.path.join(directory, "items.jsonl")
    ds = datasets.load_dataset("json", data_files=jsonl, split="train")
    check(ds.num_rows == items, f"datasets JSONL rows {ds.num_rows} != {items}")
    check(set(ds.column_names) == columns, f"datasets JSONL columns {ds.column_names}")
    check(sum(len(row) for row in ds["labels"]) == labels, "datasets JSONL label count")
    print(f"ok: datasets loads the JSONL: {ds.num_rows} rows, {len(ds.column_names)} columns")

    parquet = os.path.join(directory, "items.parquet")
    table = pq.read_table(parquet)
    check(table.num_rows == items, f"pyarrow Parquet rows {table.num_rows} != {items}")
    check(set(table.column_names) == columns, f"pyarrow Parquet columns {table.column_names}")
    nested = table.column("labels").to_pylist()
    check(sum(len(row) for row in nested) == labels, "pyarrow Parquet label count")
    check(
        all({"rater", "pool", "value", "duration_ms", "created_at"} <= set(label) for row in nested for label in row),
        "Parquet labels are structs with their fields",
    )
    ds = datasets.load_dataset("parquet", data_files=parquet, split="train")
    check(ds.num_rows == items, "datasets Parquet rows")
    check(ds["consensus"] == table.column("consensus").to_pylist(), "datasets and pyarrow agree")
    print(f"ok: pyarrow and datasets load the Parquet: {table.num_rows} rows, labels as a list of structs")

    per_label = pq.read_table(os.path.join(directory, "labels.parquet"))
    label_rows = card("labels.parquet")["stats"]["rows"]
    check(per_label.num_rows == label_rows, f"one row per label: {per_label.num_rows} != {label_rows}")
    print(f"ok: the one-row-per-label Parquet has {per_label.num_rows} rows")

    tfrecord = os.path.join(directory, "items.tfrecord")
    framed = tfrecord_crcs(tfrecord)
    check(framed == items, f"TFRecord records {framed} != {items}")
    records = list(tfrecord_loader(tfrecord, None))
    check(len(records) == items, "tfrecord package reads every record")
    text_field = "text"
    for record in records:
        check("id" in record and text_field in record, f"features of a record: {sorted(record)}")
    with_consensus = sum(1 for r in records if "consensus" in r)
    without = expected["stats"]["consensus"].get("(none)", 0)
    check(with_consensus == items - without, f"records with a consensus {with_consensus}")
    print(f"ok: tfrecord reads {len(records)} tf.Example records, CRCs checked, features {sorted(records[0])[:6]}...")

    studio = os.path.join(directory, "items.json")
    with open(studio) as f:
        tasks = json.load(f)
    check(len(tasks) == items, "Label Studio tasks")
    config = (
        "<View><Text name=\"%s\" value=\"$%s\"/><Choices name=\"label\" toName=\"%s\">%s</Choices></View>"
        % (text_field, text_field, text_field, "".join(f'<Choice value="{c}"/>' for c in expected["categories"]))
    )
    out = tempfile.mkdtemp()
    converter = Converter(config=config, project_dir=None, download_resources=False)
    converter.convert_to_csv(studio, out, is_dir=False, sep=",")
    with open(os.path.join(out, "result.csv"), newline="") as f:
        rows = [row for row in csv.DictReader(f) if row.get("label")]
    converted = sorted((int(float(row["id"])), row["annotator"], row["label"]) for row in rows)
    ours = sorted(
        (task["id"], annotation["completed_by"]["email"], region["value"]["choices"][0])
        for task in tasks
        for annotation in task["annotations"]
        for region in annotation["result"]
    )
    check(len(rows) == labels, f"label-studio-converter rows {len(rows)} != {labels}")
    check(converted == ours, "label-studio-converter's labels equal tally's annotations, rater by rater")
    print(f"ok: label-studio-converter turns the Label Studio JSON into {len(rows)} CSV rows with the same labels")

    with open(os.path.join(directory, "roundtrip.jsonl")) as f:
        back = [json.loads(line) for line in f]
    check(len(back) == items, f"round trip items {len(back)} != {items}")
    want = {str(t["id"]): sorted(r["value"]["choices"][0] for a in t["annotations"] for r in a["result"]) for t in tasks}
    got = {row["external_id"]: sorted(label["value"] for label in row["labels"]) for row in back}
    check(want == got, "Label Studio in and out again: every item keeps its labels")
    raters = {label["rater"] for row in back for label in row["labels"]}
    print(f"ok: tally imports its Label Studio JSON back: {len(back)} items, the same labels from {len(raters)} pseudonymous annotators")


if __name__ == "__main__":
    main(sys.argv[1])
