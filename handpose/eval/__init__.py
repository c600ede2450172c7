"""Evaluation against ground truth: the metrics, dataset evaluation under the papers' protocol,
real photos against the teacher, and the sample clip."""
