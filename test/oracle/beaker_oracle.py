"""Runs Python Beaker (and PasteDeploy) on cases read as JSON from stdin; prints the results as JSON.

Each case is {"kind": ..., "input": ...}; each result is {"ok": value} or {"error": message}.
Objects JSON cannot carry are tagged: {"$date": iso} for datetime, {"$seconds": n} for timedelta.
"""
import datetime
import json
import sys
import warnings

import beaker
from beaker.middleware import SessionMiddleware
from beaker.util import coerce_cache_params, coerce_session_params, parse_cache_config_options

warnings.simplefilter("ignore")


def decode(value):
    if isinstance(value, dict):
        if "$date" in value:
            return datetime.datetime.fromisoformat(value["$date"].replace("Z", "+00:00")).replace(tzinfo=None)
        return {key: decode(item) for key, item in value.items()}
    if isinstance(value, list):
        return [decode(item) for item in value]
    return value


def encode(value):
    if isinstance(value, datetime.datetime):
        return {"$date": value.isoformat(timespec="milliseconds") + "Z"}
    if isinstance(value, datetime.timedelta):
        return {"$seconds": value.total_seconds()}
    if isinstance(value, dict):
        return {key: encode(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [encode(item) for item in value]
    return value


def run(case):
    kind, data = case["kind"], decode(case["input"])
    if kind == "coerce_session":
        return coerce_session_params(dict(data))
    if kind == "coerce_cache":
        return coerce_cache_params(dict(data))
    if kind == "parse_cache":
        return parse_cache_config_options(dict(data), include_defaults=case.get("include_defaults", True))
    if kind == "session_middleware":
        return SessionMiddleware(lambda environ, start_response: [], dict(data)).options
    if kind == "ini":
        from paste.deploy import appconfig

        return dict(appconfig("config:" + data["path"], name=data.get("name", "main")))
    raise ValueError("unknown kind " + kind)


def main():
    results = []
    for case in json.load(sys.stdin):
        try:
            results.append({"ok": encode(run(case))})
        except Exception as error:  # noqa: BLE001 - the message is the result
            results.append({"error": str(error)})
    json.dump({"version": beaker.__version__, "results": results}, sys.stdout)


main()
