"""The project's exceptions; every message names the thing, says what is wrong and what to do.

OfstedQAError
├── ReportParseError      a file could not be read as a report
├── IndexNotFoundError    no index where one was expected
├── IndexMismatchError    an index built with other models or settings
│   └── IndexCorruptError a generation whose files are damaged, truncated or inconsistent
├── NotFoundError         an unknown report, paragraph or filter value
├── QuestionError         an empty or over-long question
├── TooLargeError         an upload or request over the server's size limit
└── AnswererError         an answerer the request asks for that this server does not offer
"""


class OfstedQAError(Exception):
    """Base class: the message is one sentence a user can act on."""


class ReportParseError(OfstedQAError):
    """A file could not be parsed as an Ofsted report."""


class IndexNotFoundError(OfstedQAError):
    """No index in the expected directory."""


class IndexMismatchError(OfstedQAError):
    """The index on disk was built with another model or incompatible settings."""


class IndexCorruptError(IndexMismatchError):
    """A generation on disk is damaged, truncated or disagrees with its manifest."""


class NotFoundError(OfstedQAError):
    """An unknown report, paragraph or filter value."""


class QuestionError(OfstedQAError):
    """The question is empty or too long."""


class TooLargeError(OfstedQAError):
    """An upload or request body is larger than the server accepts."""


class AnswererError(OfstedQAError):
    """A request asks for an answerer this server does not offer (no LLM configured, or no choice allowed)."""
