"""The export benchmark at its quick sizes: a moto server in its own process, two exports each in a
fresh worker process, checked archives, the worker's peak RSS at both sizes and the throughput
ratios. Times are never asserted."""

from __future__ import annotations

import pytest

from bench.exports import QUICK, RSS_LIMIT, BenchResult, measure, render

# Quick sizes (5 and 20 images of 1 MB): the larger run holds an 8 MiB part and the smaller never
# fills one, so the allowance is wider than the full run's 1.2 (stable at 1.15-1.16 over runs).
QUICK_RSS_LIMIT = 1.5


@pytest.fixture(scope="module")
def result() -> BenchResult:
    return measure(QUICK)


def test_both_exports_are_measured_and_their_archives_verified(result: BenchResult) -> None:
    for row, images in ((result.small, QUICK.small), (result.large, QUICK.large)):
        assert row.state == "completed"
        assert row.verified, row.problems
        assert row.images == images
        assert row.members == images + 1  # the images and the manifest
        assert row.payload_bytes >= images * QUICK.image_bytes * 0.99
        # Stored, not compressed: the archive is the images plus headers and the manifest.
        assert row.payload_bytes < row.archive_bytes < row.payload_bytes * 1.01
        assert 0 < row.rss_before_kib <= row.rss_peak_kib
        assert row.export_seconds > 0 and row.zipfile_seconds > 0
        assert row.export_mbps > 0 and row.zipfile_mbps > 0 and row.ratio > 0


def test_the_rss_ratio_is_computed_and_reported(result: BenchResult) -> None:
    assert result.rss_ratio == result.large.rss_peak_kib / result.small.rss_peak_kib
    assert result.rss_ratio <= QUICK_RSS_LIMIT
    text = render(result)
    verdict = "PASS" if result.rss_ratio <= RSS_LIMIT else "FAIL"
    assert f"Worker peak RSS, large/small: {result.rss_ratio:.3f} (at most {RSS_LIMIT}: {verdict})" in text
    assert text.count("verified") == 2
