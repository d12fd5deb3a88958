"""Geometric verification of candidate duplicate pairs with local features (OpenCV ORB).

``features`` (computed once per content, in the scan's workers), ``candidates`` (pairs from
indexes), ``match`` (ratio test, RANSAC similarity, evidence), ``decide`` (duplicate,
similar shot, kinds), ``linking`` (verdicts into links, with fallbacks), ``cache`` (the
index tables), ``compare`` and ``bench`` (measurements). See docs/finder.md.
"""
