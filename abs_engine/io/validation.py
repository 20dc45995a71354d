"""Turn pydantic's errors into :class:`~abs_engine.errors.Problem` s with field paths,
readable reasons and did-you-mean suggestions for unknown keys."""

from __future__ import annotations

import difflib
import types
import typing
from typing import Any, get_args, get_origin

from pydantic import BaseModel, ValidationError

from ..errors import Problem
from ..model.common import NUMBER_FOR_DATE, FieldErrors


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


def _union_members(tp: Any) -> list[Any]:
    """The non-None alternatives of a (possibly Annotated) union, or [] if ``tp`` is no union."""
    if get_origin(tp) is typing.Annotated:
        return _union_members(get_args(tp)[0])
    if get_origin(tp) in (typing.Union, types.UnionType):
        return [t for t in _unwrap(tp) if t is not type(None)]
    return []


def _pick_member(members: list[Any], tag: str) -> Any:
    """The alternative of a plain (not discriminated) union that pydantic's location tag
    names: ``list[...]``, ``dict[...]``, a model's class name, or a scalar validator."""
    for m in members:
        # a model with its own validators is tagged 'function-after[<validator>(), Name]'
        if isinstance(m, type) and (m.__name__ == tag or tag.endswith(f", {m.__name__}]")):
            return m
    for origin in (list, dict):
        if tag.startswith(origin.__name__ + "["):
            return next((m for m in members if get_origin(m) is origin), Any)
    return next((m for m in members if get_origin(m) not in (list, dict)), Any)


def _walk_full(root: type[BaseModel], loc: tuple[Any, ...]) -> tuple[list[Any], type[BaseModel] | None, Any, int | None]:
    """Follow ``loc`` through the model types. Returns the path without union tags, the
    model that holds the last element, the type at the end of the path, and the length of
    the clean path where the first plain-union tag was dropped (None if there was none)."""
    clean: list[Any] = []
    current: Any = root
    holder: type[BaseModel] | None = root
    union_at: int | None = None
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
        members = _union_members(current)
        if isinstance(part, str) and len(members) > 1 and len(models) <= 1:
            # a plain union (e.g. a number or a list): pydantic names the alternative tried
            current = _pick_member(members, part)
            if union_at is None:
                union_at = len(clean)
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
    return clean, holder, current, union_at


def _walk(root: type[BaseModel], loc: tuple[Any, ...]) -> tuple[list[Any], type[BaseModel] | None]:
    """Follow ``loc`` through the model types. Returns the path without union tags and the
    model that holds the last element."""
    clean, holder, _, _ = _walk_full(root, loc)
    return clean, holder


#: Error types meaning "the value has the wrong type", and how to name the expected type.
_EXPECTED = {
    "float_type": "a number", "float_parsing": "a number", "int_type": "an integer",
    "int_parsing": "an integer", "int_from_float": "an integer", "list_type": "a list",
    "dict_type": "a mapping (key: value)", "model_type": "a mapping (key: value)",
    "model_attributes_type": "a mapping (key: value)", "string_type": "text",
    "bool_type": "true or false", "bool_parsing": "true or false", "date_type": "a date (YYYY-MM-DD)",
    "date_parsing": "a date (YYYY-MM-DD)", "date_from_datetime_parsing": "a date (YYYY-MM-DD)",
}


#: How a boolean given for a number reaches the validators (abs_engine.model.common.Model).
BOOLEAN_WORDS = ("true", "false")
BOOLEAN_HINT = "; yes, no, on, off, true and false are booleans in YAML, not numbers: write a number"


def _shown(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def _message(err: Any) -> str:
    msg = str(err["msg"])
    if msg.startswith("Value error, "):
        msg = msg[len("Value error, "):]
    if err["type"] in ("model_type", "model_attributes_type", "dict_type"):
        value = err.get("input")
        got = "an empty value" if value is None else f"{type(value).__name__} {_shown(value)}"
        msg = f"expected a mapping (key: value), got {got}"
    value = err.get("input")
    if isinstance(value, str) and value.startswith(NUMBER_FOR_DATE):
        shown = value[len(NUMBER_FOR_DATE):]
        return (f"write the date as YYYY-MM-DD (got {shown}, a number: neither an Excel date serial nor a "
                "Unix time is read as a date)")
    if err["type"] in ("float_parsing", "int_parsing") and isinstance(value, str):
        msg += f" (got {_shown(value)})"
        if value in BOOLEAN_WORDS:
            msg += BOOLEAN_HINT
        elif "%" in value:
            msg += "; rates are decimals without '%' (0.038 for 3.8%)"
        elif "," in value:
            msg += "; write numbers without thousands separators"
    return msg


def problems_from_validation(exc: ValidationError, root: type[BaseModel], file: str, prefix: tuple[Any, ...] = ()) -> list[Problem]:
    """Convert every error in ``exc`` (raised validating ``root``) into a Problem.

    When a value may take one of several forms (a number or a list, say) pydantic reports
    one error per form; those are merged into one problem: the specific reason when the
    value had a form's type, else "should be a number or a list"."""
    errors = exc.errors(include_url=False)
    walked = [_walk_full(root, tuple(err["loc"])) for err in errors]
    # plain unions: group the errors of the alternatives tried for the same value
    groups: dict[tuple[Any, ...], list[int]] = {}
    for k, (clean, _, _, union_at) in enumerate(walked):
        if union_at is not None:
            groups.setdefault(tuple(clean[:union_at]), []).append(k)
    skip: set[int] = set()
    merged: dict[int, Problem] = {}
    for at, ks in groups.items():
        def wrong_type(k: int, at: tuple[Any, ...] = at) -> bool:
            return errors[k]["type"] in _EXPECTED and len(walked[k][0]) == len(at)

        specific = [k for k in ks if not wrong_type(k)]
        if specific:
            skip.update(k for k in ks if k not in specific)
        else:
            wanted = list(dict.fromkeys(_EXPECTED[errors[k]["type"]] for k in ks))
            got = errors[ks[0]]["input"]
            hint = BOOLEAN_HINT if isinstance(got, str) and got in BOOLEAN_WORDS else ""
            either = wanted[0] if len(wanted) == 1 else f"{', '.join(wanted[:-1])} or {wanted[-1]}"
            merged[ks[0]] = Problem(file, format_path((*prefix, *at)), f"should be {either} (got {_shown(got)}){hint}")
            skip.update(ks[1:])
    out: list[Problem] = []
    for k, err in enumerate(errors):
        if k in skip:
            continue
        if k in merged:
            out.append(merged[k])
            continue
        loc = tuple(err["loc"])
        clean, _, current, _ = walked[k]
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
        elif kind == "invalid_key" or (clean and clean[-1] == "[key]"):
            # a mapping key of the wrong type (e.g. a number where a name is expected)
            key = clean[-2] if clean and clean[-1] == "[key]" and len(clean) > 1 else (clean[-1] if clean else "?")
            parent = format_path((*prefix, *clean[: -2 if clean and clean[-1] == "[key]" else -1]))
            reason = f"must be text (quote it: '{key}')" if kind in ("invalid_key", "string_type") else _message(err)
            out.append(Problem(file, parent, f"key {key!r} {reason}" if kind in ("invalid_key", "string_type") else f"key {key!r}: {reason}"))
        elif kind == "missing":
            out.append(Problem(file, path, "missing required field"))
        elif isinstance(rules := err.get("ctx", {}).get("error"), FieldErrors):  # a record's cross-field rules, one per field
            out += [Problem(file, format_path((*prefix, *clean, field)), reason) for field, reason in rules.errors]
        elif kind == "union_tag_invalid":
            ctx = err.get("ctx", {})
            out.append(Problem(file, path, f"unknown {ctx.get('discriminator', 'kind').strip(chr(39))} {ctx.get('tag')!r}; expected one of {ctx.get('expected_tags')}"))
        elif kind == "union_tag_not_found":
            disc = str(err.get("ctx", {}).get("discriminator", "kind")).strip("'")
            tags = [t for t in (_tag_of(m) for m in _models_in(current)) if t]
            out.append(Problem(file, path, f"missing '{disc}'" + (f" (one of: {', '.join(tags)})" if tags else "")))
        else:
            out.append(Problem(file, path, _message(err)))
    return out
