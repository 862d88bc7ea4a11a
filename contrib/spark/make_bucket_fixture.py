"""Writes tests/data/spark_xxhash64/ids.jsonl: account ids with the values
Spark SQL computes for them, so `cargo test` can check ebbflow's bucket
function (src/shard/bucket.rs) against Spark without Java.

Run once from the repository root (pyspark from PyPI and Java 17):

    python contrib/spark/make_bucket_fixture.py

Each line: {"id": ..., "xxhash64": xxhash64(id), "pmod3": pmod(xxhash64(id), 3),
"pmod4": ..., "pmod7": ...}. The ids are the demo accounts' ids plus seeded
random strings of 0 to 80 characters, a third of them with non-ASCII
characters (accents, CJK, Cyrillic, Arabic, combining marks, emoji), so
every tail of XXH64 (1-, 4-, 8-byte and 32-byte stripes) is exercised.
"""

import csv
import json
import random
import sys
from pathlib import Path

from pyspark.sql import SparkSession
from pyspark.sql import functions as F

ROOT = Path(__file__).resolve().parents[2]
OUT = ROOT / "tests/data/spark_xxhash64/ids.jsonl"

ASCII = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_ .,;:'\"/\\"
OTHER = "éèàüöäßçñøÅÉ日本語中文한국어Москваالعربيةe\u0301\u00a0€£¥😀🚀👩‍💻\t"


def ids():
    with open(ROOT / "datasets/demo/accounts.csv", newline="", encoding="utf-8") as f:
        out = [row["account_id"] for row in csv.DictReader(f)]
    rng = random.Random(20261202)
    out.append("")
    for i in range(2000):
        n = rng.randrange(0, 81)
        alphabet = ASCII + OTHER if i % 3 == 0 else ASCII
        s = "".join(rng.choice(alphabet) for _ in range(n))
        out.append(s)
    seen, unique = set(), []
    for s in out:
        if s not in seen:
            seen.add(s)
            unique.append(s)
    return unique


def main():
    spark = SparkSession.builder.master("local[1]").appName("ebbflow-bucket-fixture").getOrCreate()
    values = ids()
    df = spark.createDataFrame([(i, s) for i, s in enumerate(values)], "pos long, id string")
    h = F.xxhash64(F.col("id"))
    rows = (
        df.select(
            "pos",
            "id",
            h.alias("xxhash64"),
            F.pmod(h, F.lit(3)).alias("pmod3"),
            F.pmod(h, F.lit(4)).alias("pmod4"),
            F.pmod(h, F.lit(7)).alias("pmod7"),
        )
        .orderBy("pos")
        .collect()
    )
    OUT.parent.mkdir(parents=True, exist_ok=True)
    with open(OUT, "w", encoding="utf-8", newline="\n") as f:
        for r in rows:
            line = {k: r[k] for k in ("id", "xxhash64", "pmod3", "pmod4", "pmod7")}
            f.write(json.dumps(line, ensure_ascii=False) + "\n")
    print(f"wrote {len(rows)} ids to {OUT.relative_to(ROOT)} with Spark {spark.version}", file=sys.stderr)
    spark.stop()


if __name__ == "__main__":
    main()
