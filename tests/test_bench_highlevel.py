"""The high-level throughput benchmark runs end to end (tiny budget; its figures are not checked)."""

from benchmarks.bench_highlevel import main


def test_benchmark_prints_both_speeds_and_the_ratio(capsys):
    main(["--config", "crafter_log", "--num_envs", "1", "--iterations", "1", "--raw_steps", "20",
          "--repeats", "1", "--", "--steps_per_iter", "2", "--batch_size", "2",
          "--low_level_steps", "3"])  # fmt: skip
    out = capsys.readouterr().out
    assert "raw envs, random actions" in out and "PTGM high-level training" in out
    assert "ratio: " in out
