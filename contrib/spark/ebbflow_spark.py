"""Score more accounts than one machine holds: a Spark driver for ebbflow.

Reads the five contract tables from any Spark source, adds the bucket column
pmod(xxhash64(account_id), N), sends every row of bucket K to one Spark task,
which writes bucket K's contract folder on its local disk and runs
`ebbflow-score --shard K/N --partitioned-input` on it, and returns the part
it wrote. The driver then runs `ebbflow-score merge`, which writes the queue,
manifest, drift gate and report.html one run over all accounts would write.

    spark-submit --master local[2] contrib/spark/ebbflow_spark.py \\
        --binary target/release/ebbflow-score --model models/demo \\
        --input datasets/demo --as-of 2025-12-31 --shards 3 --out out-spark

See contrib/spark/README.md (JDBC sources, clusters, memory).
"""

import argparse
import csv
import io
import os
import shutil
import stat
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

from pyspark import SparkFiles, StorageLevel
from pyspark.sql import SparkSession
from pyspark.sql import functions as F

TABLES = ["accounts", "subscriptions", "events", "tickets", "surveys"]
REQUIRED = {"accounts", "subscriptions"}
# How a file's extension names its Spark reader (as ebbflow's contract does).
EXTENSIONS = {".csv": "csv", ".parquet": "parquet"}


def parse_args(argv):
    p = argparse.ArgumentParser(
        description="Score account shards with ebbflow inside Spark tasks, then merge them.",
        epilog="Arguments after -- go to `ebbflow-score merge` (e.g. -- --fail-on-drift 0.5 --format parquet).",
    )
    p.add_argument("--binary", required=True, help="ebbflow-score built for the executors' platform (shipped with SparkContext.addFile)")
    p.add_argument("--model", required=True, help="model bundle directory (shipped to the executors)")
    p.add_argument("--as-of", required=True, help="score as of this date, YYYY-MM-DD (every shard scores the same day)")
    p.add_argument("--shards", type=int, required=True, help="N: number of buckets, one Spark task each")
    p.add_argument("--out", required=True, help="output folder of the merged queue (on the driver)")
    p.add_argument("--input", help="folder with one file (<table>.csv, <table>.parquet) or folder (<table>/, read with --dir-format) per table")
    p.add_argument("--dir-format", default="parquet", help="Spark format of table folders under --input (default parquet)")
    p.add_argument("--jdbc-url", help="read tables over JDBC instead (user and password from EBBFLOW_JDBC_USER / EBBFLOW_JDBC_PASSWORD)")
    p.add_argument("--table", action="append", default=[], metavar="NAME=SOURCE",
                   help="where a table comes from: a path, or with --jdbc-url a table name (default: the table's own name)")
    p.add_argument("--id-column", action="append", default=[], metavar="TABLE=COLUMN",
                   help="the account id column of a table, when a config renames it (default account_id)")
    p.add_argument("--config", help="ebbflow.toml for the shards (column names, files); shipped to the executors")
    p.add_argument("--parts", help="keep the parts here (default: a temporary folder, deleted)")
    p.add_argument("merge_args", nargs="*", help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if (args.input is None) == (args.jdbc_url is None):
        p.error("give exactly one of --input and --jdbc-url")
    if args.shards < 1:
        p.error("--shards must be >= 1")
    return args


def pairs(items, what):
    out = {}
    for item in items:
        name, sep, value = item.partition("=")
        if not sep or name not in TABLES:
            raise SystemExit(f"{what} expects TABLE=VALUE with TABLE one of {', '.join(TABLES)}, got {item!r}")
        out[name] = value
    return out


def read_tables(spark, args):
    """The tables present, as (name, DataFrame). CSV is read as text, exactly as written."""
    where = pairs(args.table, "--table")
    found = []
    for name in TABLES:
        if args.jdbc_url:
            props = {"user": os.environ.get("EBBFLOW_JDBC_USER", ""), "password": os.environ.get("EBBFLOW_JDBC_PASSWORD", "")}
            try:
                df = spark.read.jdbc(args.jdbc_url, where.get(name, name), properties=props)
            except Exception as e:  # a missing optional table
                if name in REQUIRED:
                    raise
                print(f"ebbflow-spark: no table {name} over JDBC ({type(e).__name__}); skipped", file=sys.stderr)
                continue
        else:
            path, fmt = locate(Path(args.input), name, where.get(name), args.dir_format)
            if path is None:
                if name in REQUIRED:
                    raise SystemExit(f"ebbflow-spark: required table {name} not found under {args.input}")
                continue
            reader = spark.read.format(fmt)
            if fmt == "csv":
                # Every column as text (no type inference), quoted values over
                # several lines, "" as an escaped quote: RFC 4180, as ebbflow reads it.
                reader = reader.options(header="true", inferSchema="false", multiLine="true", escape='"', encoding="UTF-8")
            df = reader.load(str(path))
        found.append((name, df))
    return found


def locate(root, name, given, dir_format):
    if given:
        p = Path(given)
        return p, EXTENSIONS.get(p.suffix, dir_format)
    for ext, fmt in EXTENSIONS.items():
        if (root / f"{name}{ext}").is_file():
            return root / f"{name}{ext}", fmt
    if (root / name).is_dir():
        return root / name, dir_format
    return None, None


def bucketed(tables, n, id_columns):
    """One RDD of (bucket, (table index, values as text)), every table's rows."""
    rdds, headers = [], []
    for i, (name, df) in enumerate(tables):
        id_col = id_columns.get(name, "account_id")
        if id_col not in df.columns:
            raise SystemExit(f"ebbflow-spark: table {name} has no column {id_col} (columns: {', '.join(df.columns)}); see --id-column")
        # Hashed as text, as ebbflow reads ids: xxhash64 of an integer column
        # would hash its 8 bytes, not its digits.
        bucket = F.pmod(F.xxhash64(F.col(id_col).cast("string")), F.lit(n)).cast("int")
        # Dates and timestamps as text in UTC (session time zone), numbers
        # in Java's shortest round-trip form: ebbflow parses them back exactly.
        text = [F.col(f"`{c}`").cast("string").alias(c) for c in df.columns]
        rdd = df.select(bucket.alias("__bucket"), *text).rdd.map(lambda r, i=i: (r[0], (i, tuple(r[1:]))))
        rdds.append(rdd)
        headers.append((name, list(df.columns)))
    return rdds, headers


def score_bucket(k, rows, headers, n, as_of, model_name, config_name):
    """In a Spark task: bucket k's rows -> contract folder -> ebbflow-score --shard -> the part as a tar."""
    work = tempfile.mkdtemp(prefix=f"ebbflow-bucket-{k}-")
    try:
        data = Path(work, "data")
        data.mkdir()
        files, writers = [], []
        for name, columns in headers:
            f = open(data / f"{name}.csv", "w", newline="", encoding="utf-8")
            w = csv.writer(f, lineterminator="\n")
            w.writerow(columns)
            files.append(f)
            writers.append(w)
        for _, (i, values) in rows:
            writers[i].writerow(["" if v is None else v for v in values])
        for f in files:
            f.close()
        binary = SparkFiles.get("ebbflow-score")
        os.chmod(binary, os.stat(binary).st_mode | stat.S_IXUSR)
        part = Path(work, "part")
        cmd = [binary, "--model", SparkFiles.get(model_name), "--data", str(data), "--as-of", as_of,
               "--shard", f"{k}/{n}", "--partitioned-input", "--out", str(part), "--quiet", "--threads", "1"]
        if config_name:
            cmd += ["--config", SparkFiles.get(config_name)]
        done = subprocess.run(cmd, capture_output=True, text=True)
        if done.returncode != 0:
            raise RuntimeError(f"ebbflow-score --shard {k}/{n} exited {done.returncode}: {done.stderr.strip()}")
        blob = io.BytesIO()
        with tarfile.open(fileobj=blob, mode="w") as tar:
            for f in sorted(part.iterdir()):
                tar.add(f, arcname=f.name)
        yield k, blob.getvalue()
    finally:
        shutil.rmtree(work, ignore_errors=True)


def main(argv):
    args = parse_args(argv)
    n = args.shards
    spark = (
        SparkSession.builder.appName("ebbflow-shards")
        # Timestamps become text in UTC, the day ebbflow counts them on.
        .config("spark.sql.session.timeZone", "UTC")
        .getOrCreate()
    )
    sc = spark.sparkContext
    sc.setLogLevel(os.environ.get("EBBFLOW_SPARK_LOG_LEVEL", "WARN"))
    sc.addFile(str(Path(args.binary).resolve()))
    if Path(args.binary).name != "ebbflow-score":
        raise SystemExit("--binary must be named ebbflow-score")
    model = Path(args.model).resolve()
    sc.addFile(str(model), recursive=True)
    config_name = None
    if args.config:
        sc.addFile(str(Path(args.config).resolve()))
        config_name = Path(args.config).name

    tables = read_tables(spark, args)
    rdds, headers = bucketed(tables, n, pairs(args.id_column, "--id-column"))
    # Bucket k goes to partition k: one task per bucket.
    rows = sc.union(rdds).partitionBy(n, lambda b: b)
    as_of, model_name = args.as_of, model.name
    parts_rdd = rows.mapPartitionsWithIndex(
        lambda k, it: score_bucket(k, it, headers, n, as_of, model_name, config_name)
    ).persist(StorageLevel.DISK_ONLY)
    parts_rdd.count()  # every bucket scored, in parallel

    keep = args.parts is not None
    parts_dir = Path(args.parts) if keep else Path(tempfile.mkdtemp(prefix="ebbflow-parts-"))
    try:
        dirs = []
        for k, blob in parts_rdd.toLocalIterator():
            d = parts_dir / str(k)
            shutil.rmtree(d, ignore_errors=True)
            d.mkdir(parents=True)
            with tarfile.open(fileobj=io.BytesIO(blob)) as tar:
                tar.extractall(d, filter="data")
            dirs.append(str(d))
        parts_rdd.unpersist()
        spark.stop()
        cmd = [str(Path(args.binary).resolve()), "merge", "--model", str(model), "--out", args.out, *args.merge_args, *sorted(dirs)]
        print(f"ebbflow-spark: {len(dirs)} parts scored; merging into {args.out}", file=sys.stderr)
        return subprocess.run(cmd).returncode
    finally:
        if not keep:
            shutil.rmtree(parts_dir, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
