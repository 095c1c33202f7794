"""Indexer: report file → paragraphs → chunks → index on disk, and searching that index."""
