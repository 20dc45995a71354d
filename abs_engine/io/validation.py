"""Turn pydantic's errors into :class:`~abs_engine.errors.Problem` s with field paths,
readable reasons and did-you-mean suggestions for unknown keys."""

from __future__ import annotations

import difflib
import types
import typing
from typing import Any, get_args, get_origin

from pydantic import BaseModel, ValidationError

from ..errors import Problem


def format_path(loc: typing.Sequence[Any]) -> str:
    """``('waterfalls', 'normal', 3, 'to', 0)`` -> ``waterfalls.normal[3].to[0]``."""
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += ("." if out else "") + str(part)
    return out


def _unwrap(tp: Any) -> list[Any]:
    """The concrete types inside Optional / Annotated / Union / list / dict."""
    origin = get_origin(tp)
    if origin is typing.Annotated:
        return _unwrap(get_args(tp)[0])
    if origin in (typing.Union, types.UnionType):
        return [t for a in get_args(tp) for t in _unwrap(a)]
    return [tp]


def _models_in(tp: Any) -> list[type[BaseModel]]:
    return [t for t in _unwrap(tp) if isinstance(t, type) and issubclass(t, BaseModel)]


def _field_names(model: type[BaseModel]) -> list[str]:
    return [f.alias or n for n, f in model.model_fields.items()]


def _tag_of(model: type[BaseModel]) -> str | None:
    for key in ("action", "kind"):
        f = model.model_fields.get(key)
        if f is not None and get_origin(f.annotation) is typing.Literal:
            args = get_args(f.annotation)
            if len(args) == 1:
                return str(args[0])
    return None


def _walk(root: type[BaseModel], loc: tuple[Any, ...]) -> tuple[list[Any], type[BaseModel] | None]:
    """Follow ``loc`` through the model types. Returns the path without union tags and the
    model that holds the last element."""
    clean: list[Any] = []
    current: Any = root
    holder: type[BaseModel] | None = root
    i = 0
    while i < len(loc):
        part = loc[i]
        models = _models_in(current) if not (isinstance(current, type) and issubclass(current, BaseModel)) else [current]
        if len(models) > 1:
            # a discriminated union: pydantic puts the tag in the location
            tagged = {(_tag_of(m) or m.__name__): m for m in models}
            if isinstance(part, str) and part in tagged:
                current = tagged[part]
                i += 1
                continue
        if isinstance(part, int) or (isinstance(part, str) and not models):
            # list index or dict key
            args = [a for t in _unwrap(current) for a in get_args(t)] if get_origin(current) is None else get_args(current)
            if get_origin(current) in (list, dict) or any(get_origin(t) in (list, dict) for t in _unwrap(current)):
                inner = [t for t in _unwrap(current) if get_origin(t) in (list, dict)]
                current = get_args(inner[0])[-1] if inner else Any
            else:
                current = args[-1] if args else Any
            clean.append(part)
            i += 1
            continue
        if models:
            model = models[0]
            holder = model
            names = {n: f for n, f in model.model_fields.items()}
            by_alias = {(f.alias or n): f for n, f in names.items()}
            field = by_alias.get(part) or names.get(part)
            clean.append(part)
            current = field.annotation if field is not None else Any
            i += 1
            continue
        clean.append(part)
        i += 1
    return clean, holder


def problems_from_validation(exc: ValidationError, root: type[BaseModel], file: str, prefix: tuple[Any, ...] = ()) -> list[Problem]:
    """Convert every error in ``exc`` (raised validating ``root``) into a Problem."""
    out: list[Problem] = []
    for err in exc.errors(include_url=False):
        loc = tuple(err["loc"])
        clean, holder = _walk(root, loc)
        path = format_path((*prefix, *clean))
        kind = err["type"]
        if kind == "extra_forbidden":
            key = str(clean[-1]) if clean else "?"
            parent = format_path((*prefix, *clean[:-1]))
            # the holder is the model that contains the unknown key
            _, model = _walk(root, loc[:-1] + ("__probe__",))
            known = _field_names(model) if model is not None else []
            close = difflib.get_close_matches(key, known, n=1, cutoff=0.6)
            hint = f"; did you mean '{close[0]}'?" if close else (f" (known: {', '.join(known)})" if known else "")
            out.append(Problem(file, parent, f"unknown field '{key}'{hint}"))
        elif kind == "missing":
            out.append(Problem(file, path, "missing required field"))
        elif kind == "union_tag_invalid":
            ctx = err.get("ctx", {})
            out.append(Problem(file, path, f"unknown {ctx.get('discriminator', 'kind').strip(chr(39))} {ctx.get('tag')!r}; expected one of {ctx.get('expected_tags')}"))
        else:
            msg = err["msg"]
            if msg.startswith("Value error, "):
                msg = msg[len("Value error, "):]
            out.append(Problem(file, path, msg))
    return out
