#!/usr/bin/env python3
"""Consistency of a finished study folder, from its files alone (no qualm code):
every cell of records.json exists; each record's counts are what its .npy files
give (disagreements, flips, accuracies); rates lie in [0, 1]; every
(task, strategy, seed, variant) has the clean set and every shifted set the
study asked for; the float top-1 is the argmax of the stored softmax. RQ4 (a
"retrain" section): one "retrain" entry per (task, strategy, seed, variant,
protocol) asked for, its counts recounted, its inputs those of the record before
retraining, and the paper protocol's found set the test-set disagreements before;
analysis.json's RQ4 Old / New / Removed equal the recount. The probe
cells (probes.json): a symmetric matrix with a zero diagonal whose float-vs-int8
entry is the records' disagreement count, ties and culprits that add up.
   check_study.py STUDY_DIR
Prints "study check: N passed, 0 failed" or the first failures and exits 1.
(The .npy files are read with the format's own rules, so numpy is not needed;
numpy.load reads the same files.)"""
import ast, json, os, struct, sys

def load_npy(path):
    with open(path, "rb") as f:
        b = f.read()
    assert b[:6] == b"\x93NUMPY" and b[6] == 1, path
    n = struct.unpack("<H", b[8:10])[0]
    h = ast.literal_eval(b[10:10 + n].decode("latin1"))
    count = 1
    for d in h["shape"]:
        count *= d
    code = {"<i4": "i", "<f4": "f"}[h["descr"]]
    data = struct.unpack("<%d%s" % (count, code), b[10 + n:])
    return h["shape"], data

def check_retrain(d, spec, rec, check):
    rt = spec.get("retrain", {})
    if not rt.get("variants"):
        check("retrain" not in rec, "records.json has a retrain list without a retrain section")
        return
    before = {(r["task"], r["strategy"], r["seed"], r["variant"]): r for r in rec["records"] if r["set"].endswith(":test")}
    counts, got = {}, set()
    for e in rec.get("retrain", []):
        key = (e["task"], e["strategy"], e["seed"], e["variant"])
        name = "RQ4 %s %s seed %s %s (%s)" % (key + (e["protocol"],))
        got.add(key + (e["protocol"],))
        b = before.get(key)
        check(b is not None, name + ": no record before retraining")
        if b is None:
            continue
        _, labels = load_npy(os.path.join(d, e["labels"]))
        _, bl = load_npy(os.path.join(d, e["before_labels"]))
        _, ft = load_npy(os.path.join(d, e["float_top1"]))
        _, qt = load_npy(os.path.join(d, e["quantized_top1"]))
        _, bf = load_npy(os.path.join(d, e["before_float_top1"]))
        _, bq = load_npy(os.path.join(d, e["before_quantized_top1"]))
        check(labels == bl and e["before_float_top1"] == b["float_top1"] and e["before_quantized_top1"] == b["quantized_top1"],
              name + ": not the inputs and files of the record before retraining")
        after = sum(1 for a, q in zip(ft, qt) if a != q)
        nb = sum(1 for a, q in zip(bf, bq) if a != q)
        check(e["disagreements"] == after and e["count"] == len(labels), name + ": counts")
        if e["protocol"] == "paper":
            check(e["found"] == nb, name + ": found %s, but %s test-set disagreements before" % (e["found"], nb))
        if e["protocol"] == "control":
            check(e["found"] == 0, name + ": the control added inputs")
        old = sum(1 for i in range(len(ft)) if bf[i] != bq[i] and ft[i] != qt[i])
        counts[(e["task"], e["strategy"], e["variant"], e["protocol"], e["seed"])] = (nb, after, old, after - old, nb - old)
    for t in spec["tasks"]:
        task = "%s@%s" % (t["arch"], t["data"])
        for s in rt.get("strategies", ["standard"]):
            for seed in spec["seeds"]:
                for v in rt["variants"]:
                    for p in rt.get("protocols", ["ours", "paper"]):
                        check((task, s, seed, v, p) in got, "RQ4 %s %s seed %s %s (%s): no retrain entry" % (task, s, seed, v, p))
    an = json.load(open(os.path.join(d, "analysis.json")))
    names = ("before", "after", "old", "new", "removed")
    for row in an.get("rq4", []):
        for seed in row["seeds"]:
            want = counts.get((row["task"], row["strategy"], row["variant"], row["protocol"], seed))
            for k, n in enumerate(names):
                m = row["measures"][n]
                have = dict(zip(m["seeds"], m["values"])).get(seed)
                check(want is not None and have == want[k], "RQ4 analysis %s %s %s seed %s: %s %s vs recount %s" %
                      (row["task"], row["variant"], row["protocol"], seed, n, have, want and want[k]))

def main(d):
    passed, failed = 0, []
    def check(cond, what):
        nonlocal passed
        if cond:
            passed += 1
        else:
            failed.append(what)
    study = json.load(open(os.path.join(d, "study.json")))
    spec = study["spec"]
    rec = json.load(open(os.path.join(d, "records.json")))
    check(rec["missing_cells"] == 0, "missing cells: %s" % rec["missing_cells"])
    seen = {}
    for r in rec["records"]:
        name = "%s %s seed %s %s on %s" % (r["task"], r["strategy"], r["seed"], r["variant"], r["set"])
        _, labels = load_npy(os.path.join(d, r["labels"]))
        _, ft = load_npy(os.path.join(d, r["float_top1"]))
        _, qt = load_npy(os.path.join(d, r["quantized_top1"]))
        shape, sm = load_npy(os.path.join(d, r["float_softmax"]))
        n = len(labels)
        check(len(ft) == n and len(qt) == n and r["count"] == n and shape[0] == n, name + ": record lengths")
        dis = sum(1 for a, b in zip(ft, qt) if a != b)
        r2w = sum(1 for a, b, y in zip(ft, qt, labels) if a != b and a == y)
        w2r = sum(1 for a, b, y in zip(ft, qt, labels) if a != b and b == y)
        check(r["disagreements"] == dis, name + ": disagreements %s vs %s in the records" % (r["disagreements"], dis))
        check(r["right_to_wrong"] == r2w and r["wrong_to_right"] == w2r and
              r["wrong_to_wrong"] == dis - r2w - w2r, name + ": flip directions")
        facc = sum(1 for a, y in zip(ft, labels) if a == y) / n
        qacc = sum(1 for b, y in zip(qt, labels) if b == y) / n
        check(abs(r["float_accuracy"] - facc) < 1e-12 and abs(r["quantized_accuracy"] - qacc) < 1e-12, name + ": accuracies")
        check(0.0 <= r["disagreement_rate"] <= 1.0 and abs(r["disagreement_rate"] - dis / n) < 1e-12, name + ": rate")
        c = shape[1]
        argmax_ok = all(max(range(c), key=lambda k: (sm[i * c + k], -k)) == ft[i] for i in range(n))
        check(argmax_ok, name + ": float top-1 is not the argmax of the stored softmax")
        seen.setdefault((r["task"], r["strategy"], r["seed"], r["variant"]), set()).add(r["set"])
    # Every (task, strategy, seed, variant) has every set it was asked for.
    for t in spec["tasks"]:
        task = "%s@%s" % (t["arch"], t["data"])
        text = t["arch"] in ("lstm", "gru")
        shifts = spec["text_shifts"] if text else spec["image_shifts"]
        want = {t["data"] + ":test"} | {"%s:test~%s@%d" % (t["data"], s, v) for s in shifts for v in spec["severities"]}
        if spec.get("validation_sets", True):
            want.add(t["data"] + ":validation")
        if text and spec["natural_shifts"]:
            want |= {t["data"] + ":hard-ham", t["data"] + ":later"}
        for s in spec["strategies"]:
            for seed in spec["seeds"]:
                for v in spec["variants"]:
                    got = seen.get((task, s, seed, v), set())
                    check(got == want, "%s %s seed %s %s: sets %s missing" % (task, s, seed, v, sorted(want - got)))
    check_retrain(d, spec, rec, check)
    # The probes: every standard int8 model on the clean test set, the natural shifts and the probed severities.
    probes = spec.get("probes", {})
    if probes.get("matrix") or probes.get("attribution"):
        index = json.load(open(os.path.join(d, "probes.json")))
        check(index["missing"] == 0, "probes: %s cells missing" % index["missing"])
        dis = {(r["task"], r["seed"], r["set"]): r["disagreements"] for r in rec["records"]
               if r["strategy"] == "standard" and r["variant"] == "int8"}
        probed = set()
        for e in index["cells"]:
            key = (e["task"], e["seed"], e["set"])
            probed.add(key)
            name = "probe %s seed %s on %s" % key
            p = json.load(open(os.path.join(d, e["probe"])))
            check(p["int8"]["disagreements"] == dis.get(key), name + ": int8 disagreements differ from the records")
            check(p["int8"]["ties"] <= p["int8"]["disagreements"], name + ": more ties than disagreements")
            m = p["matrix"]
            if m is not None:
                labels = [r["label"] for r in m["rows"]]
                c = m["counts"]
                n = len(labels)
                check(all(c[i][i] == 0 and all(c[i][j] == c[j][i] for j in range(n)) for i in range(n)),
                      name + ": matrix not symmetric with a zero diagonal")
                b = study["runtime"]["backend"]
                i, j = labels.index("float/" + b), labels.index("int8/gemmlowp/" + b)
                check(c[i][j] == dis.get(key), name + ": float vs int8/gemmlowp %s, records %s" % (c[i][j], dis.get(key)))
            a = p["attribution"]
            if a is not None:
                check(a["flips"] == dis.get(key), name + ": attributed flips differ from the records")
                check(a["culprit_lowering"] + sum(l["first"] for l in a["layers"]) == a["flips"],
                      name + ": first culprits do not add up to the flips")
        for (task, seed, s) in dis:
            scoped = s.endswith(":test") or ("~" not in s and not s.endswith(":validation")) or \
                ("@" in s and int(s.rsplit("@", 1)[1]) in probes.get("severities", []))
            check(not scoped or (task, seed, s) in probed, "no probe for %s seed %s on %s" % (task, seed, s))
    for f in failed[:20]:
        print("FAIL:", f)
    print("study check: %d passed, %d failed" % (passed, len(failed)))
    return 1 if failed else 0

if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
