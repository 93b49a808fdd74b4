"""Python Beaker's sessions, for the interoperability tests: reads JSON requests from stdin, prints JSON results.

Requests: {"op": "write", "options": {...}, "data": {...}} -> the Set-Cookie value Beaker's CookieSession emits;
{"op": "read", "options": {...}, "cookie": "name=value"} -> the session dict Beaker reads from that cookie;
{"op": "server_id", "secret": s, "cookie": "name=value"} -> the id a server-side Session takes from a signed cookie;
{"op": "sign_id", "secret": s, "id": i} -> Beaker's signed cookie value for an id.
"""
import json
import sys
import warnings

from beaker.session import CookieSession, Session, SignedCookie

warnings.simplefilter("ignore")


def run(request):
    op = request["op"]
    if op == "write":
        session = CookieSession({"cookie": ""}, **request["options"])
        session.update(request["data"])
        session.save()
        return session.request["cookie_out"].strip()
    if op == "read":
        session = CookieSession({"cookie": request["cookie"]}, **request["options"])
        return {key: value for key, value in session.items()}
    if op == "server_id":
        session = Session({"cookie": request["cookie"]}, secret=request["secret"], type="memory")
        return {"id": session.id, "is_new": session.is_new}
    if op == "sign_id":
        return SignedCookie(request["secret"]).value_encode(request["id"])[1]
    raise ValueError(op)


results = []
for request in json.load(sys.stdin):
    try:
        results.append({"ok": run(request)})
    except Exception as error:  # noqa: BLE001 - the message is the result
        results.append({"error": f"{type(error).__name__}: {error}"})
json.dump(results, sys.stdout)
