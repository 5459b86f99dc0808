"""What kind of file a message shares, in one vocabulary for every service (the ``file_kinds`` column).

Slack gives a file's ``mimetype`` and ``filetype`` (https://docs.slack.dev/reference/objects/file-object); Graph gives
an attachment's ``contentType`` (a MIME type, or ``reference`` for a file in SharePoint or OneDrive) and ``name``
(https://learn.microsoft.com/en-us/graph/api/resources/chatmessageattachment). Both are read here, by MIME type
first, then by the name's extension; nothing of the file itself is ever read.
"""

from __future__ import annotations

__all__ = ["FILE_KINDS", "file_kind"]

#: Every kind, and what it covers.
FILE_KINDS = {
    "image": "pictures, screenshots, GIFs",
    "video": "video files and clips",
    "audio": "audio files and voice clips",
    "pdf": "PDF documents",
    "document": "word-processor documents (Word, Google Docs, ODT, RTF)",
    "spreadsheet": "spreadsheets and CSV files",
    "presentation": "slide decks",
    "text": "plain text, Markdown and logs",
    "code": "source code, snippets and data formats (JSON, YAML, XML)",
    "archive": "zip, tar and other archives",
    "deleted": "a file the service says was deleted (Slack's tombstone file)",
    "other": "anything else",
}

_BY_EXTENSION = {
    **dict.fromkeys(("png", "jpg", "jpeg", "gif", "webp", "bmp", "svg", "heic", "tif", "tiff"), "image"),
    **dict.fromkeys(("mp4", "mov", "avi", "mkv", "webm", "m4v"), "video"),
    **dict.fromkeys(("mp3", "wav", "m4a", "ogg", "flac", "aac", "opus"), "audio"),
    "pdf": "pdf",
    **dict.fromkeys(("doc", "docx", "odt", "rtf", "gdoc", "pages"), "document"),
    **dict.fromkeys(("xls", "xlsx", "ods", "csv", "tsv", "gsheet", "numbers"), "spreadsheet"),
    **dict.fromkeys(("ppt", "pptx", "odp", "key", "gslides", "gpres"), "presentation"),
    **dict.fromkeys(("txt", "text", "md", "markdown", "log", "post", "space"), "text"),
    **dict.fromkeys(
        ("py", "js", "ts", "java", "c", "cpp", "go", "rs", "rb", "sh", "sql", "json", "yaml", "yml", "xml", "html"),
        "code",
    ),
    **dict.fromkeys(("zip", "tar", "gz", "tgz", "bz2", "xz", "7z", "rar"), "archive"),
}

_BY_MIME = {
    "application/pdf": "pdf",
    "text/csv": "spreadsheet",
    "text/plain": "text",
    "text/markdown": "text",
    "application/json": "code",
    "application/zip": "archive",
    "application/msword": "document",
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document": "document",
    "application/vnd.ms-excel": "spreadsheet",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": "spreadsheet",
    "application/vnd.ms-powerpoint": "presentation",
    "application/vnd.openxmlformats-officedocument.presentationml.presentation": "presentation",
}


def file_kind(name: object = None, mimetype: object = None, filetype: object = None) -> str:
    """The kind (:data:`FILE_KINDS`) of a shared file, from its MIME type, the service's file type, or its name.

    Examples
    --------
    >>> file_kind("Q3 plan.PPTX"), file_kind(mimetype="image/png"), file_kind("notes", filetype="python")
    ('presentation', 'image', 'code')
    >>> file_kind(), file_kind("archive.tar.gz"), file_kind(mimetype="application/octet-stream", name="x.bin")
    ('other', 'archive', 'other')
    """
    if isinstance(mimetype, str) and mimetype:
        mime = mimetype.split(";", 1)[0].strip().lower()
        major = mime.split("/", 1)[0]
        if major in ("image", "video", "audio"):
            return major
        if mime in _BY_MIME:
            return _BY_MIME[mime]
    if isinstance(filetype, str) and filetype:
        kind = _BY_EXTENSION.get(filetype.lower()) or _SLACK_FILETYPES.get(filetype.lower())
        if kind:
            return kind
    if isinstance(name, str) and "." in name:
        kind = _BY_EXTENSION.get(name.rsplit(".", 1)[1].lower())
        if kind:
            return kind
    return "other"


#: Slack ``filetype`` values that are not extensions (https://docs.slack.dev/reference/objects/file-object, "file
#: types").
_SLACK_FILETYPES = {
    "python": "code",
    "javascript": "code",
    "shell": "code",
    "markdown": "text",
    "gdoc": "document",
    "gsheet": "spreadsheet",
    "gpres": "presentation",
    "quip": "document",
    "canvas": "document",
    "list": "spreadsheet",
}
