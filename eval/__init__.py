"""Evaluation: the curated question set, metrics, and runs of ofsted-qa beside baseline pipelines."""
