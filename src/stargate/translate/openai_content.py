"""OpenAI message content parts -> canonical parts.

Images and files must arrive inline as base64 data URLs (``data:image/png;base64,...``): the
gateway never fetches a URL on a caller's behalf. The base64 text is kept as it is (never
decoded) on the way through.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import Any

from stargate.core import DocumentPart, ImagePart, TextPart
from stargate.translate.openai_fields import expect_object, expect_str, invalid, json_type

__all__ = [
    "DOCUMENT_FORMATS",
    "IMAGE_MEDIA_TYPES",
    "parse_text_content",
    "parse_user_content",
]

InputPart = TextPart | ImagePart | DocumentPart

IMAGE_MEDIA_TYPES: Mapping[str, str] = MappingProxyType(
    {
        "image/png": "image/png",
        "image/jpeg": "image/jpeg",
        "image/jpg": "image/jpeg",
        "image/gif": "image/gif",
        "image/webp": "image/webp",
    }
)

DOCUMENT_FORMATS: Mapping[str, str] = MappingProxyType(
    {
        "application/pdf": "pdf",
        "text/csv": "csv",
        "application/msword": "doc",
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document": "docx",
        "application/vnd.ms-excel": "xls",
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": "xlsx",
        "text/html": "html",
        "text/plain": "txt",
        "text/markdown": "md",
    }
)

_DATA_URL_HEAD_MAX = 256  # "data:<media type>[;params];base64," never gets near this


def parse_text_content(value: object, param: str, *, allow_refusal: bool) -> list[TextPart]:
    """Content that may only hold text: a string or an array of ``text`` parts.

    Empty text is dropped (it carries nothing, and Bedrock rejects blank text blocks).
    ``refusal`` parts (assistant history) are dropped when ``allow_refusal``.
    """
    if isinstance(value, str):
        return [TextPart(value)] if value else []
    if not isinstance(value, list):
        raise invalid(
            param, f"expected a string or an array of text parts, got {json_type(value)}."
        )
    parts: list[TextPart] = []
    for index, raw in enumerate(value):
        path = f"{param}[{index}]"
        part = expect_object(raw, path)
        kind = part.get("type")
        if kind == "text":
            text = expect_str(part.get("text"), f"{path}.text", non_empty=False)
            if text:
                parts.append(TextPart(text))
        elif kind == "refusal" and allow_refusal:
            expect_str(part.get("refusal"), f"{path}.refusal", non_empty=False)
        else:
            allowed = "'text' or 'refusal'" if allow_refusal else "'text'"
            raise invalid(f"{path}.type", f"expected {allowed}, got {_shown(kind)}.")
    return parts


def parse_user_content(value: object, param: str) -> list[InputPart]:
    """User (and tool result) content: a string, or ``text``/``image_url``/``file`` parts."""
    if isinstance(value, str):
        return [TextPart(value)] if value else []
    if not isinstance(value, list):
        raise invalid(
            param, f"expected a string or an array of content parts, got {json_type(value)}."
        )
    parts: list[InputPart] = []
    for index, raw in enumerate(value):
        path = f"{param}[{index}]"
        part = expect_object(raw, path)
        match part.get("type"):
            case "text":
                text = expect_str(part.get("text"), f"{path}.text", non_empty=False)
                if text:
                    parts.append(TextPart(text))
            case "image_url":
                parts.append(_image_part(part, path))
            case "file":
                parts.append(_file_part(part, path))
            case "input_audio":
                raise invalid(f"{path}.type", "audio input is not supported.")
            case other:
                raise invalid(
                    f"{path}.type", f"expected 'text', 'image_url' or 'file', got {_shown(other)}."
                )
    return parts


def _image_part(part: dict[str, Any], path: str) -> ImagePart:
    image = part.get("image_url")
    if isinstance(image, str):  # a bare URL string, which some clients send
        url_path = f"{path}.image_url"
        url = image
    else:
        url_path = f"{path}.image_url.url"
        url = expect_str(expect_object(image, f"{path}.image_url").get("url"), url_path)
    media_type, data = _split_data_url(url, url_path)
    canonical = IMAGE_MEDIA_TYPES.get(media_type)
    if canonical is None:
        raise invalid(
            url_path,
            f"unsupported image type {media_type!r}; send image/png, image/jpeg, image/gif or "
            "image/webp.",
        )
    return ImagePart(media_type=canonical, data=data)


def _file_part(part: dict[str, Any], path: str) -> ImagePart | DocumentPart:
    file = expect_object(part.get("file"), f"{path}.file")
    data_path = f"{path}.file.file_data"
    file_data = file.get("file_data")
    if file_data is None:
        if file.get("file_id") is not None:
            raise invalid(
                f"{path}.file.file_id",
                "uploaded file ids are not supported: the gateway has no files API. Send the "
                "file inline as file_data (a base64 data URL).",
            )
        raise invalid(data_path, "this field is required: a base64 data URL of the file.")
    url = expect_str(file_data, data_path)
    media_type, data = _split_data_url(url, data_path)
    image_type = IMAGE_MEDIA_TYPES.get(media_type)
    if image_type is not None:
        return ImagePart(media_type=image_type, data=data)
    doc_format = DOCUMENT_FORMATS.get(media_type)
    if doc_format is None:
        raise invalid(
            data_path,
            f"unsupported file type {media_type!r}; send PDF, CSV, DOC, DOCX, XLS, XLSX, HTML, "
            "plain text, Markdown or a PNG/JPEG/GIF/WebP image.",
        )
    filename = file.get("filename")
    if filename is None:
        # unique within the request, e.g. "document messages[1] content[0]"
        name = "document " + path.replace(".", " ")
    else:
        name = expect_str(filename, f"{path}.file.filename")
    return DocumentPart(name=name, format=doc_format, data=data)


def _split_data_url(url: str, param: str) -> tuple[str, str]:
    """``data:<media type>[;params];base64,<data>`` -> (lower-case media type, base64 data)."""
    if not url.startswith("data:"):
        if url.startswith(("http://", "https://")):
            raise invalid(
                param,
                "only base64 data URLs (data:<media type>;base64,<data>) are accepted: the gateway "
                "does not fetch URLs. Download the file and send its bytes inline.",
            )
        raise invalid(param, "expected a base64 data URL (data:<media type>;base64,<data>).")
    comma = url.find(",", 5, _DATA_URL_HEAD_MAX)
    head = url[5:comma] if comma > 0 else ""
    media_type, _, params = head.partition(";")
    if comma < 0 or "base64" not in params.split(";"):
        raise invalid(param, "expected a base64 data URL (data:<media type>;base64,<data>).")
    if comma == len(url) - 1:
        raise invalid(param, "the data URL carries no data.")
    return media_type.strip().lower(), url[comma + 1 :]


def _shown(value: object) -> str:
    return repr(value) if isinstance(value, str) else json_type(value)
