"""``rlbook bench``: every target of the blueprint beside its measured figure.

A benchmark, not a test: it prints a table and never fails a build. Sections:

- ``grading``: seconds to grade each chapter's reference solution; N notebooks of
  all chapters graded with 1 and with 2 jobs, each in its sandbox.
- ``lessons``: seconds to execute each lesson, and its slowest cell.
- ``book``: the whole book built from clean in a scratch copy, then rebuilt cached.
- ``frozenlake``: chapter 03's Q-learning greedy success rate against the optimum.
- ``dqn``, ``pg``: CartPole-v1 over seeds (chapters 04, 05), each trained its whole
  budget and evaluated every 2,000 steps: runs solved at first and still solved at the
  end, the step from which they stay solved, the mean of the last five evaluations.
- ``rlhf``: chapter 06's reward gain and KL against its budget.
- ``grpo``: chapter 07's held-out pass@1 before and after GRPO with the verifier's
  reward, over the lesson's three GRPO seeds, and the KL to the reference model.

Each RL section runs the lesson's own reference code (``rlbook_utils.lessons``).
"""

from __future__ import annotations

import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import nbformat

from rlbook_utils.exercises import repo_root

SECTIONS = ("grading", "lessons", "book", "frozenlake", "dqn", "pg", "rlhf", "grpo")


@dataclass
class Row:
    what: str
    target: str
    measured: str
    met: bool | None = None  # None: a figure with no target


def _met(flag: bool | None) -> str:
    return {True: "yes", False: "NO", None: ""}[flag]


def format_table(rows: list[Row]) -> str:
    widths = [max(len(getattr(r, f)) for r in rows + [Row("what", "target", "measured")])
              for f in ("what", "target", "measured")]
    lines = [f"{'what':<{widths[0]}}  {'target':<{widths[1]}}  {'measured':<{widths[2]}}  met"]
    lines.append("-" * (sum(widths) + 11))
    for row in rows:
        lines.append(f"{row.what:<{widths[0]}}  {row.target:<{widths[1]}}  "
                     f"{row.measured:<{widths[2]}}  {_met(row.met)}")
    return "\n".join(lines)


def chapters() -> list[str]:
    return sorted(p.parent.name for p in (repo_root() / "chapters").glob("*/lesson.ipynb"))


# --------------------------------------------------------------------------- #
def bench_grading(copies: int) -> list[Row]:
    """Each reference solution graded alone, then ``copies`` notebooks of all chapters
    (the solutions in turn) graded with 1 and 2 jobs; each in its own sandbox when
    bubblewrap can build one here (the row says which)."""
    from rlbook_utils.grading.sandbox import check_bubblewrap
    from rlbook_utils.grading.trusted_harness import Limits, grade_many

    limits = Limits(sandbox=not check_bubblewrap())
    how = "sandboxed" if limits.sandbox else "NOT sandboxed"
    rows = []
    root = repo_root()
    solutions = sorted((root / "solutions").glob("*.ipynb"))
    for solution in solutions:
        started = time.monotonic()
        (report,) = grade_many([(solution, solution.stem)], jobs=1, limits=limits)
        seconds = time.monotonic() - started
        rows.append(Row(f"grade {solution.stem} solution ({how})", "<= 10 s",
                        f"{seconds:.1f} s ({report.score:g}/{report.points:g})", seconds <= 10))
    with tempfile.TemporaryDirectory() as folder:
        paths = []
        for index in range(copies):
            source = solutions[index % len(solutions)]
            path = Path(folder) / f"student{index:03d}" / source.name
            path.parent.mkdir()
            shutil.copy(source, path)
            paths.append((path, path.parent.name))
        for jobs in (1, 2):
            started = time.monotonic()
            reports = grade_many(paths, jobs=jobs, limits=limits)
            seconds = time.monotonic() - started
            per_notebook = seconds / copies
            full = sum(report.score == report.points for report in reports)
            rows.append(Row(f"grade {copies} notebooks of all chapters, {jobs} job(s)", "",
                            f"{per_notebook:.1f} s/notebook, "
                            f"{60 / per_notebook:.1f} notebooks/min, {full}/{copies} full marks"))
        hundred = 100 * per_notebook / 60
        rows.append(Row("100 notebooks, 2 jobs (projected)", "<= 8 min",
                        f"{hundred:.1f} min", hundred <= 8))
    return rows


# --------------------------------------------------------------------------- #
def execute_lesson(chapter: str) -> tuple[float, float]:
    """Seconds to execute a lesson from scratch, and its slowest cell's seconds."""
    from nbclient import NotebookClient

    path = repo_root() / "chapters" / chapter / "lesson.ipynb"
    notebook = nbformat.read(path, as_version=4)
    client = NotebookClient(notebook, timeout=600, kernel_name="python3",
                            resources={"metadata": {"path": str(path.parent)}})
    started = time.monotonic()
    client.execute()
    total = time.monotonic() - started
    slowest = 0.0
    for cell in notebook.cells:
        timing = cell.metadata.get("execution", {})
        if "iopub.execute_input" in timing and "shell.execute_reply" in timing:
            begin = datetime.fromisoformat(timing["iopub.execute_input"].replace("Z", "+00:00"))
            end = datetime.fromisoformat(timing["shell.execute_reply"].replace("Z", "+00:00"))
            slowest = max(slowest, (end - begin).total_seconds())
    return total, slowest


def bench_lessons() -> list[Row]:
    rows, total = [], 0.0
    for chapter in chapters():
        seconds, slowest = execute_lesson(chapter)
        total += seconds
        rows.append(Row(f"lesson {chapter}", "<= 60 s; cells <= 60 s",
                        f"{seconds:.1f} s (slowest cell {slowest:.1f} s)",
                        seconds <= 60 and slowest <= 60))
    rows.append(Row("all lessons, executed one after another", "", f"{total:.1f} s"))
    return rows


def bench_book() -> list[Row]:
    root = repo_root()
    with tempfile.TemporaryDirectory() as folder:
        copy = Path(folder) / "book"
        shutil.copytree(root, copy, ignore=shutil.ignore_patterns(
            ".venv", "_build", ".git", "__pycache__", ".ipynb_checkpoints"))
        build = [str(Path(sys.executable).with_name("jupyter-book")), "build", str(copy),
                 "-W", "-n", "--keep-going"]
        timings = []
        for _ in range(2):
            started = time.monotonic()
            result = subprocess.run(build, capture_output=True, text=True)
            timings.append(time.monotonic() - started)
            if result.returncode != 0:
                return [Row("whole book from clean", "<= 5 min", "BUILD FAILED", False)]
    return [Row("whole book from clean", "<= 5 min", f"{timings[0]:.0f} s",
                timings[0] <= 300),
            Row("cached rebuild, nothing changed", "<= 30 s", f"{timings[1]:.1f} s",
                timings[1] <= 30)]


# --------------------------------------------------------------------------- #
def bench_frozenlake() -> list[Row]:
    import gymnasium as gym
    import numpy as np

    from rlbook_utils.lessons import load_reference

    lesson = load_reference("03_q_learning")
    env = gym.make("FrozenLake-v1")
    Q, _ = lesson.q_learning(env, lesson.lake_episodes, lesson.lake_gamma, lesson.lake_alpha,
                             lesson.lake_epsilon_start, seed=0,
                             alpha_power=lesson.lake_alpha_power,
                             epsilon_end=lesson.lake_epsilon_end)
    Q_star = lesson.optimal_q(env.unwrapped.P, lesson.lake_gamma)

    def success(Q_table, n_episodes=5000, seed=1):
        wins = 0
        for episode in range(n_episodes):
            state, _ = env.reset(seed=seed if episode == 0 else None)
            done = False
            while not done:
                state, reward, terminated, truncated, _ = env.step(int(np.argmax(Q_table[state])))
                done = terminated or truncated
            wins += reward == 1.0
        return wins / n_episodes

    learned, optimum = success(Q), success(Q_star)
    return [Row("FrozenLake-v1 Q-learning greedy success", "within 0.03 of optimum",
                f"{learned:.3f} vs optimum {optimum:.3f}", abs(learned - optimum) <= 0.03)]


def _cartpole_rows(name: str, chapter: str, function: str, config_class: str,
                   budget: int, seeds: int, good_from_target: int) -> list[Row]:
    """The stability protocol: every seed trains its whole budget (no early stop) and is
    evaluated every 2,000 steps; the rows say how many runs were solved at first and at
    the end, from which step they stayed solved (an unsolved run counts as never), the
    mean of the last five evaluations, and the wall time per run."""
    import dataclasses

    from rlbook_utils.lessons import load_reference
    from rlbook_utils.stability import stability, steps_text

    try:
        lesson = load_reference(chapter)
    except (FileNotFoundError, LookupError) as error:
        return [Row(f"{name}, CartPole-v1", f"<= {budget // 1000}k steps", f"n/a: {error}")]
    train, config = getattr(lesson, function), getattr(lesson, config_class)()
    config = dataclasses.replace(config, eval_every=2_000, stop_when_solved=False)
    histories, seconds = [], []
    for seed in range(seeds):
        started = time.monotonic()
        histories.append(train(config, seed))
        seconds.append(time.monotonic() - started)
    runs = stability(histories, config.solved_return)
    first = [s for s in runs.first if s is not None]
    label = f"{name}, CartPole-v1, {seeds} seeds x {budget // 1000}k steps"
    return [
        Row(f"{label}: solved at first (an eval >= 475)", "",
            f"{runs.n_first} of {seeds}"
            + (f", median {steps_text(statistics.median(first))}" if first else "")),
        Row(f"{label}: still solved at the end", f"{seeds} of {seeds}",
            f"{runs.n_end} of {seeds}", runs.n_end == seeds),
        Row(f"{label}: solved for good from (median, worst)",
            f"median <= {good_from_target // 1000}k",
            f"{steps_text(runs.median_good_from)}, {steps_text(runs.worst_good_from)}",
            runs.median_good_from <= good_from_target),
        Row(f"{label}: mean of the last 5 evaluations", ">= 475 on every seed",
            f"{statistics.mean(runs.last5):.0f} (lowest {min(runs.last5):.0f})",
            min(runs.last5) >= 475),
        Row(f"{label}: wall time per run", "", f"{statistics.mean(seconds):.1f} s"),
    ]


def bench_rlhf() -> list[Row]:
    from rlbook_utils.lessons import load_reference

    try:
        lesson = load_reference("06_rl_for_llms")
    except (FileNotFoundError, LookupError) as error:
        return [Row("tiny RLHF", "reward x2, KL <= budget", f"n/a: {error}")]
    started, started_cpu = time.monotonic(), time.process_time()
    result = lesson.run_rlhf_pipeline(seed=0)
    seconds, cpu_seconds = time.monotonic() - started, time.process_time() - started_cpu
    reference, budget = max(result["reward_ref"], 1e-9), result["kl_budget"]
    rows = [Row("tiny RLHF: SFT over pre-trained (labeller)", "higher",
                f"{result['reward_pretrained']:.3f} -> {result['reward_ref']:.3f}",
                result["reward_ref"] > result["reward_pretrained"])]
    for name, key in (("PPO", "rl"), ("REINFORCE", "reinforce")):
        ratio = result[f"reward_{key}"] / reference
        rows += [Row(f"tiny RLHF: {name} reward gain over SFT", ">= 2x",
                     f"{ratio:.2f}x ({result['reward_ref']:.3f} -> "
                     f"{result[f'reward_{key}']:.3f})", ratio >= 2),
                 Row(f"tiny RLHF: {name} KL to reference", f"<= {budget:g}",
                     f"{result[f'kl_{key}']:.3f}", result[f"kl_{key}"] <= budget)]
    labeller, proxy = result["hack_labeller_curve"], result["hack_proxy_curve"]
    peak = int(labeller.argmax())
    rows += [Row("tiny RLHF: beta = 0 over-optimises (labeller peak -> end)",
                 "falls, proxy rises",
                 f"{labeller[peak]:.2f} -> {labeller[-1]:.2f}; proxy {proxy[peak]:.2f} -> "
                 f"{proxy[-1]:.2f}; KL {result['kl_hack']:.1f}",
                 labeller[-1] < labeller[peak] and proxy[-1] > proxy[peak]),
             Row("tiny RLHF: held-out pair accuracy (reward model, DPO)", ">= 0.9",
                 f"{result['rm_accuracy']:.3f}, {result['dpo_accuracy']:.3f}",
                 min(result["rm_accuracy"], result["dpo_accuracy"]) >= 0.9),
             Row("tiny RLHF: whole pipeline", "<= 60 s",
                 f"{seconds:.1f} s (CPU {cpu_seconds:.1f} s)", seconds <= 60)]
    return rows


def bench_grpo(seeds: tuple[int, ...] = (1, 2, 3)) -> list[Row]:
    """Chapter 07's pipeline (the page's SFT model, then GRPO against the verifier) on
    each of the lesson's GRPO seeds: held-out pass@1 before -> after (target: at least
    twice on average over the seeds), greedy accuracy, the KL to the reference model, and the wall time per run."""
    from rlbook_utils.lessons import load_reference

    try:
        lesson = load_reference("07_verifiable_rewards")
    except (FileNotFoundError, LookupError) as error:
        return [Row("tiny GRPO", "pass@1 x2", f"n/a: {error}")]
    rows, ratios = [], []
    for seed in seeds:
        started, started_cpu = time.monotonic(), time.process_time()
        result = lesson.run_grpo_pipeline(seed=seed)
        seconds, cpu_seconds = time.monotonic() - started, time.process_time() - started_cpu
        before, after = result["pass_at_1_before"], result["pass_at_1_after"]
        ratio = after / max(before, 1e-9)
        ratios.append(ratio)
        rows += [Row(f"tiny GRPO seed {seed}: held-out pass@1 (SFT -> RL)", "",
                     f"{ratio:.2f}x ({before:.3f} -> {after:.3f})"),
                 Row(f"tiny GRPO seed {seed}: greedy accuracy, KL to reference", "",
                     f"{result['greedy_before']:.3f} -> {result['greedy_after']:.3f}; "
                     f"KL {result['kl']:.2f} nats per answer"),
                 Row(f"tiny GRPO seed {seed}: whole pipeline", "<= 60 s",
                     f"{seconds:.1f} s (CPU {cpu_seconds:.1f} s, {result['n_samples']} "
                     "RL samples)", seconds <= 60)]
    rows.append(Row(f"tiny GRPO: mean pass@1 gain over {len(seeds)} seeds", ">= 2x",
                    f"{statistics.mean(ratios):.2f}x (lowest {min(ratios):.2f}x)",
                    statistics.mean(ratios) >= 2))
    return rows


def run(sections: list[str], seeds: int = 5, copies: int = 10) -> list[Row]:
    rows: list[Row] = []
    for section in sections:
        print(f"== {section} ...", file=sys.stderr, flush=True)
        if section == "grading":
            rows += bench_grading(copies)
        elif section == "lessons":
            rows += bench_lessons()
        elif section == "book":
            rows += bench_book()
        elif section == "frozenlake":
            rows += bench_frozenlake()
        elif section == "dqn":
            rows += _cartpole_rows("DQN", "04_deep_q_learning", "train_dqn", "DQNConfig",
                                   50_000, seeds, good_from_target=44_000)
        elif section == "pg":
            rows += _cartpole_rows("PPO", "05_policy_gradients",
                                   "train_policy_gradient", "PPOConfig", 100_000, seeds,
                                   good_from_target=20_000)
        elif section == "rlhf":
            rows += bench_rlhf()
        elif section == "grpo":
            rows += bench_grpo()
    return rows
