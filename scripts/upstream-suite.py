#!/usr/bin/env python3
"""Run upstream TransformerLens's test suite of one tag against upstream 3.9.0 and against LensLab.

    scripts/upstream-suite.py /path/to/upstream-checkout v3.5.1

The checkout is any tree of upstream's repository at that tag (only its ``tests/`` is read; its
``transformer_lens/`` is never imported). The tests are copied to a scratch directory without
upstream's package, so each run imports the ``transformer_lens`` of the interpreter it runs under:

- the baseline: upstream's own ``transformer-lens==3.9.0`` in a separate venv (``--baseline-python``),
  run once per tag and kept (junit xml) unless ``--rerun-baseline``;
- LensLab: ``--lenslab-python`` with a snapshot of this checkout's ``py_src`` first on PYTHONPATH
  (so editing while it runs does not mix versions; the commit is recorded).

Both run offline (HF_HUB_OFFLINE=1), so tests that need a hub download fail in the baseline and
drop out. TransformerBridge tests are left out (``model_bridge`` folders, files importing the bridge,
test ids naming it), and the bridge's tooling tests (BRIDGE_TOOLING) are counted apart. Prints the baseline's passes, LensLab's passes among them, the percentage and
each failure with its first error line; ``--failures-md`` also writes the failures caused by
missing modules or names as markdown.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SUITES = ("unit", "integration", "acceptance")
# pytest-timeout and the few libraries upstream's tests import that LensLab does not need
# are installed here (pip --target), outside every venv, for the LensLab run only.
EXTRA_PACKAGES = ("pytest-timeout", "beartype", "fancy_einsum")
# Test files about the machinery upstream 3.x built for TransformerBridge (its weight-conversion
# steps, model registry and its relevancy scores, benchmark suite, supported-model list). Counted
# apart: the headline share leaves them out, as it leaves out the bridge's own tests.
BRIDGE_TOOLING = (
    "tests/unit/weight_conversion/conversion_utils/",
    "tests/unit/tools/test_model_registry.py",
    "tests/unit/tools/test_relevancy.py",
    "tests/unit/test_benchmark_utils.py",
    "tests/unit/test_supported_models.py",
)
MISSING_NAME = re.compile(
    r"ModuleNotFoundError|ImportError|cannot import name|has no attribute|No module named|NotImplementedError"
)


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("checkout", type=Path, help="upstream TransformerLens tree at the tag")
    parser.add_argument("tag", help="the tag's name, used to label results (e.g. v3.5.1)")
    parser.add_argument("--out", type=Path, default=Path("/work/upstream/results"))
    parser.add_argument("--baseline-python", default="/work/upstream/venv-tl39/bin/python")
    parser.add_argument("--lenslab-python", default=str(ROOT / ".venv/bin/python"))
    parser.add_argument("--rerun-baseline", action="store_true")
    parser.add_argument("--skip-lenslab", action="store_true", help="only make sure the baseline exists")
    parser.add_argument("--reuse-lenslab", action="store_true", help="report on the last LensLab run's xml")
    parser.add_argument("--timeout", type=int, default=120, help="seconds per test")
    parser.add_argument("--chunk", type=int, default=12, help="test files per pytest process")
    parser.add_argument("--files", nargs="*", help="only these test files (paths relative to the checkout)")
    parser.add_argument("--failures-md", type=Path, help="write missing-name failures here as markdown")
    parser.add_argument("--json", type=Path, help="write the summary and failures here")
    return parser.parse_args()


def selected_files(tests: Path) -> list[str]:
    """Upstream's unit/integration/acceptance test files, TransformerBridge's excluded."""
    files = []
    for suite in SUITES:
        for path in sorted((tests / suite).rglob("test_*.py")):
            rel = path.relative_to(tests.parent).as_posix()
            if "model_bridge" in rel or "bridge" in path.name:
                continue
            text = path.read_text(errors="replace")
            if re.search(r"^\s*(from|import) transformer_lens\.model_bridge", text, re.M):
                continue
            files.append(rel)
    return files


def scratch_tree(checkout: Path, work: Path) -> Path:
    """Copy of upstream's tests/ alone, with a neutral pytest.ini (upstream's addopts need plugins)."""
    tree = work / "tree"
    if tree.exists():
        shutil.rmtree(tree)
    tree.mkdir(parents=True)
    shutil.copytree(checkout / "tests", tree / "tests")
    (tree / "pytest.ini").write_text(
        "[pytest]\nmarkers =\n    slow: slow\n    skip_ci: skip in ci\n"
        "filterwarnings =\n    ignore::DeprecationWarning\n"
    )
    return tree


def run_pytest(python: str, tree: Path, files: list[str], xml: Path, env: dict, timeout: int) -> int:
    cmd = [
        python, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-p", "timeout", f"--timeout={timeout}",
        "--continue-on-collection-errors", "-k", "not bridge", "--junitxml", str(xml), "-o", "junit_family=xunit1", *files,
    ]
    # A whole chunk may hang in a way pytest-timeout cannot interrupt; bound it too.
    try:
        return subprocess.run(cmd, cwd=tree, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                              timeout=timeout * 20).returncode
    except subprocess.TimeoutExpired:
        return -1


def run_suite(python: str, tree: Path, files: list[str], xml_dir: Path, env: dict, args) -> dict[str, dict]:
    """Outcome of each test id; a chunk that crashed is rerun file by file."""
    xml_dir.mkdir(parents=True, exist_ok=True)
    for old in xml_dir.glob("*.xml"):
        old.unlink()
    results: dict[str, dict] = {}
    chunks = [files[i : i + args.chunk] for i in range(0, len(files), args.chunk)]
    for index, chunk in enumerate(chunks):
        xml = xml_dir / f"chunk{index:03d}.xml"
        code = run_pytest(python, tree, chunk, xml, env, args.timeout)
        print(f"  chunk {index + 1}/{len(chunks)} rc={code}", file=sys.stderr, flush=True)
        if xml.exists() and code in (0, 1, 5):
            results.update(read_junit(xml))
            continue
        for n, single in enumerate(chunk):
            one = xml_dir / f"chunk{index:03d}-{n:02d}.xml"
            run_pytest(python, tree, [single], one, env, args.timeout)
            if one.exists():
                results.update(read_junit(one))
            else:
                results[f"{single}::<crashed>"] = {"outcome": "failed", "message": "pytest process crashed or hung"}
    return results


def stable_name(name: str) -> str:
    """Some upstream tests draw their parameters at random when collected (``test_multiply[...-82-None]``):
    numbers inside the brackets are masked so the two runs name the same test alike."""
    if "[" not in name:
        return name
    head, _, params = name.partition("[")
    masked = re.sub(r"\d+(\.\d+)?(e-?\d+)?", "#", params)
    return head + "[" + re.sub(r"-+#", "-#", masked)  # a negative number's sign goes too


def read_junit(xml: Path) -> dict[str, dict]:
    out = {}
    for case in ET.parse(xml).getroot().iter("testcase"):
        base = f"{case.get('file') or case.get('classname')}::{case.get('classname')}::{stable_name(case.get('name'))}"
        test_id, n = base, 1
        while test_id in out:  # masked parameters can collide: number them in collection order
            n += 1
            test_id = f"{base}#{n}"
        outcome, message = "passed", ""
        for child in case:
            if child.tag in ("failure", "error"):
                outcome = "failed"
                # Prefer the raised exception's own "E   ..." line (a collection error's message is only
                # "collection failure").
                raised = [line for line in (child.text or "").splitlines() if re.match(r"E\s+\w", line)]
                message = (raised[-1][1:].strip() if raised else (child.get("message") or child.text or "")).strip()
            elif child.tag == "skipped":
                outcome = "skipped"
                message = (child.get("message") or "").strip()
        out[test_id] = {"outcome": outcome, "message": message}
    return out


def collection_errors(results: dict[str, dict]) -> dict[str, str]:
    """Module dotted name -> error, for files that failed to import."""
    errors = {}
    for test_id, result in results.items():
        file_, classname, name = test_id.split("::", 2)
        if result["outcome"] == "failed" and not classname and name.startswith("tests."):
            errors[name] = result["message"]
    return errors


def first_line(message: str) -> str:
    lines = [line.strip() for line in message.splitlines() if line.strip()]
    for line in lines:  # the exception line, not the source echo
        if re.match(r"^(E\s+)?\w+(Error|Exception|Warning)\b", line) or "Error:" in line:
            return line[:240]
    return (lines[0] if lines else "")[:240]


def main() -> int:
    args = parse_args()
    work = args.out / args.tag
    tree = scratch_tree(args.checkout.resolve(), work)
    files = args.files or selected_files(tree / "tests")
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    env.update(HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1", HF_DATASETS_OFFLINE="1", OMP_NUM_THREADS="1",
               TOKENIZERS_PARALLELISM="false", PYTHONDONTWRITEBYTECODE="1", CUDA_VISIBLE_DEVICES="")

    baseline_json = work / "baseline.json"
    if args.rerun_baseline or not baseline_json.exists():
        print(f"baseline: upstream 3.9.0 on {len(files)} files of {args.tag}", file=sys.stderr)
        baseline = run_suite(args.baseline_python, tree, files, work / "baseline-xml", env, args)
        baseline_json.write_text(json.dumps(baseline, indent=1))
    baseline = {}
    for xml in sorted((work / "baseline-xml").glob("*.xml")):  # re-read: the id rules may have changed
        baseline.update(read_junit(xml))
    if args.files:
        baseline = {k: v for k, v in baseline.items() if k.split("::")[0] in set(args.files)}
    if args.skip_lenslab:
        return 0

    extra = args.out / "lenslab-extra"
    if not (extra / ".done").exists():
        subprocess.run([args.lenslab_python, "-m", "pip", "install", "-q", "--no-deps", "--target", str(extra),
                        *EXTRA_PACKAGES], check=True)
        (extra / ".done").write_text("ok\n")
    # A snapshot of py_src, so edits made while the suite runs do not mix into the measurement.
    snapshot = work / "py_src"
    if not args.reuse_lenslab:
        if snapshot.exists():
            shutil.rmtree(snapshot)
        shutil.copytree(ROOT / "py_src", snapshot, ignore=shutil.ignore_patterns("__pycache__", "static", "labextension"))
        commit = subprocess.run(["git", "-C", str(ROOT), "describe", "--always", "--dirty"], capture_output=True, text=True)
        (work / "lenslab-commit.txt").write_text(commit.stdout)
    lenslab_env = dict(env, PYTHONPATH=f"{snapshot}{os.pathsep}{extra}")
    print(f"lenslab: {ROOT / 'py_src'} (snapshot in {snapshot}) on {len(files)} files", file=sys.stderr)
    if args.reuse_lenslab:
        lenslab = {}
        for xml in sorted((work / "lenslab-xml").glob("*.xml")):
            lenslab.update(read_junit(xml))
    else:
        lenslab = run_suite(args.lenslab_python, tree, files, work / "lenslab-xml", lenslab_env, args)
    (work / "lenslab.json").write_text(json.dumps(lenslab, indent=1))

    passed_upstream = sorted(k for k, v in baseline.items() if v["outcome"] == "passed" and "::" in k and k.split("::")[1])
    tooling = [k for k in passed_upstream if k.startswith(BRIDGE_TOOLING)]
    wanted = [k for k in passed_upstream if not k.startswith(BRIDGE_TOOLING)]
    tooling_passed = sum(1 for k in tooling if lenslab.get(k, {}).get("outcome") == "passed")
    errors = collection_errors(lenslab)
    failures = []
    for test_id in wanted:
        result = lenslab.get(test_id)
        if result is None:
            module = test_id.split("::")[1].split(".")
            reason = next((errors[".".join(module[:n])] for n in range(len(module), 0, -1)
                           if ".".join(module[:n]) in errors), "not collected")
            failures.append((test_id, "collection: " + first_line(reason)))
        elif result["outcome"] != "passed":
            failures.append((test_id, f"{result['outcome']}: {first_line(result['message'])}"))
    passed = len(wanted) - len(failures)
    share = 100.0 * passed / len(wanted) if wanted else 0.0
    measured = (work / "lenslab-commit.txt").read_text().strip() if (work / "lenslab-commit.txt").exists() else "?"
    print(f"{args.tag}: upstream 3.9.0 passes {len(wanted)} offline; LensLab ({measured}) passes {passed} of them ({share:.1f}%)")
    if tooling:
        everything = len(wanted) + len(tooling)
        print(f"{args.tag}: with the {len(tooling)} TransformerBridge-tooling tests too: "
              f"{passed + tooling_passed} of {everything} ({100.0 * (passed + tooling_passed) / everything:.1f}%)")
    for test_id, reason in failures:
        print(f"FAIL {test_id.split('::', 1)[1]}  -- {reason}")
    if args.json:
        args.json.write_text(json.dumps({"tag": args.tag, "baseline": len(wanted), "passed": passed,
                                         "percent": round(share, 1), "bridge_tooling": len(tooling),
                                         "bridge_tooling_passed": tooling_passed, "failures": failures}, indent=1))
    if args.failures_md:
        missing = [(t, r) for t, r in failures if MISSING_NAME.search(r)]
        lines = [f"## {args.tag}: {len(missing)} failures from missing modules/names "
                 f"({passed}/{len(wanted)} pass, {share:.1f}%)", ""]
        lines += [f"- `{t.split('::', 1)[1]}`: {r}" for t, r in missing]
        args.failures_md.write_text("\n".join(lines) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
