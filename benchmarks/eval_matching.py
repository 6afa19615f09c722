"""How well the rules generalise: precision and recall on labelled snippets, false alerts on corpora.

    python benchmarks/eval_matching.py [--sets dev,legacy] [--misses] [--baselines] [--corpus]
    python benchmarks/eval_matching.py --sets test       # the frozen test part: score it at the end

Sets (``tests/data/``): ``legacy`` (``labelled.jsonl``, written with the first pack: it measures
memory, not generalisation), ``dev`` (``labelled_dev.jsonl``, what the pack is tuned on) and
``test`` (``labelled_test.jsonl``, written apart from the rules and frozen before any tuning;
see docs/matching.md §6 for the commit that froze it) and ``heldout``
(``labelled_heldout.jsonl``, three later writers scored once and never tuned on).

``--baselines`` scores the same sets with two other matchers built from the same pack: *exact*
(every inflection class switched off, no composed concepts: the alias-list model) and
*snowball* (every alias and text token reduced by the Snowball Arabic stemmer, then matched
exactly, needs ``pip install snowballstemmer``). ``--corpus`` counts alerts on the ANT samples
and hard cases in ../shared/data/corpus (all are negatives). ``--cost`` measures the false-hit
cost of each suffix class on the corpora. Not a test: tests/match/test_quality.py pins floors.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import Counter
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from monitor.match import Matcher, RuleSet, load_rules  # noqa: E402
from monitor.match.forms import INFLECTIONS  # noqa: E402

DATA = REPO / "tests" / "data"
SETS = {"legacy": DATA / "labelled.jsonl", "dev": DATA / "labelled_dev.jsonl",
        "test": DATA / "labelled_test.jsonl", "heldout": DATA / "labelled_heldout.jsonl"}
CORPUS = REPO.parent / "shared" / "data" / "corpus"
CORPORA = ("ant-multisource-v2.1-sample.jsonl", "ant-jawharafm-v1.1-sample.jsonl",
           "ant-hard-cases-libya-russia-wagner.jsonl")


def read_jsonl(path: Path) -> list[dict]:
    with path.open(encoding="utf-8") as fh:
        return [json.loads(line) for line in fh if line.strip()]


def evaluate(matcher: Matcher, rows: list[dict]) -> dict:
    """Precision, recall and the wrong rows of one matcher on one labelled set."""
    tp = fp = fn = 0
    wrong = []
    per_cat: Counter[str] = Counter()
    for row in rows:
        alert = matcher.score(row.get("title") or "", row["text"]).alert
        tp += alert and row["label"]
        fp += alert and not row["label"]
        fn += row["label"] and not alert
        if alert != row["label"]:
            wrong.append(row)
            per_cat[row.get("category", "?")] += 1
    return {"precision": tp / (tp + fp) if tp + fp else 0.0,
            "recall": tp / (tp + fn) if tp + fn else 0.0,
            "tp": tp, "fp": fp, "fn": fn, "n": len(rows), "wrong": wrong, "per_cat": per_cat}


def exact_pack(pack: RuleSet) -> RuleSet:
    """The pack as the alias-list model saw it: no inflection, no composed concepts."""
    ents = tuple(replace(e, inflect="none", alias_inflect=(), compose=()) for e in pack.entities)
    return replace(pack, entities=ents)


def snowball() -> Callable[[str], str] | None:
    try:
        import snowballstemmer  # type: ignore[import-not-found]
    except ImportError:
        return None
    stemmer = snowballstemmer.stemmer("arabic")
    return lambda w: stemmer.stemWord(w) or w


def corpus_alerts(matcher: Matcher) -> list[tuple[str, int, int, list[str]]]:
    out = []
    for name in CORPORA:
        path = CORPUS / name
        if not path.exists():
            continue
        rows = read_jsonl(path)
        ids = [r["id"] for r in rows if matcher.score(r["title"], r["text"]).alert]
        out.append((name, len(ids), len(rows), ids[:8]))
    return out


def without_class(pack: RuleSet, cls: str) -> RuleSet:
    """The pack with one inflection class switched off (its aliases matched as written)."""
    ents = tuple(replace(e, inflect="none" if e.inflect == cls else e.inflect,
                         alias_inflect=tuple((a, c) for a, c in e.alias_inflect if c != cls))
                 for e in pack.entities)
    return replace(pack, entities=ents)


def suffix_cost(pack: RuleSet) -> None:
    """For each inflection class: the false alerts on the corpora (all negatives) that it adds,
    and the corpus documents where it adds hits, against the pack without that class."""
    docs = [r for name in CORPORA if (CORPUS / name).exists() for r in read_jsonl(CORPUS / name)]
    shipped = Matcher(pack)
    results = {r["id"]: shipped.score(r["title"], r["text"]) for r in docs}
    alerts = {i for i, res in results.items() if res.alert}
    for cls in INFLECTIONS[1:]:
        m = Matcher(without_class(pack, cls))
        off_alerts, extra_docs, words = set(), 0, Counter()
        for r in docs:
            res = m.score(r["title"], r["text"])
            if res.alert:
                off_alerts.add(r["id"])
            seen = {(h.field, h.start, h.entity) for h in res.hits}
            extra = [h for h in results[r["id"]].hits if (h.field, h.start, h.entity) not in seen]
            extra_docs += bool(extra)
            words.update(f"{h.entity}:{h.match}" for h in extra)
        print(f"  {cls:12s}: false alerts on {len(docs)} corpus documents {len(alerts)} with it, "
              f"{len(off_alerts)} without; adds hits in {extra_docs} documents, most common "
              f"{words.most_common(6)}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--rules", default=str(REPO / "rules"))
    ap.add_argument("--sets", default="legacy,dev")
    ap.add_argument("--misses", action="store_true", help="list the wrong rows")
    ap.add_argument("--baselines", action="store_true")
    ap.add_argument("--corpus", action="store_true")
    ap.add_argument("--cost", action="store_true")
    args = ap.parse_args()
    pack = load_rules(args.rules)
    matchers: dict[str, Matcher] = {"shipped": Matcher(pack)}
    if args.baselines:
        matchers["exact"] = Matcher(exact_pack(pack))
        stem = snowball()
        if stem is None:
            print("(snowball baseline skipped: pip install snowballstemmer)")
        else:
            matchers["snowball"] = Matcher(exact_pack(pack), stem=stem)
    for set_name in args.sets.split(","):
        # A name of the shipped sets, or the path of any labelled JSONL file (a new writer's set
        # scored once before the pack is tuned on it).
        rows = read_jsonl(SETS[set_name] if set_name in SETS else Path(set_name))
        set_name = Path(set_name).stem if set_name not in SETS else set_name
        for name, matcher in matchers.items():
            r = evaluate(matcher, rows)
            print(f"{set_name:6s} {name:8s} n={r['n']:4d} precision {r['precision']:.3f} "
                  f"recall {r['recall']:.3f} (tp {r['tp']}, fp {r['fp']}, fn {r['fn']})"
                  f"  wrong by category: {dict(r['per_cat'].most_common(6))}")
            if args.misses and name == "shipped":
                for row in r["wrong"]:
                    kind = "MISSED" if row["label"] else "FALSE "
                    print(f"   {kind} {row['id']} [{row.get('category')}] "
                          f"{(row.get('title') or '')[:60]} | {row['text'][:200]}")
    if args.corpus:
        for name, matcher in matchers.items():
            for corpus, n, total, ids in corpus_alerts(matcher):
                print(f"corpus {name:8s} {corpus}: {n}/{total} alerts ({100 * n / total:.2f} %)"
                      f" {ids}")
    if args.cost:
        suffix_cost(pack)


if __name__ == "__main__":
    main()
