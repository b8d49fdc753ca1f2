#!/usr/bin/env python3
"""Instructions and allocations per request from one callgrind dump, by component.

Reads a callgrind output file (valgrind --tool=callgrind, counters zeroed before and dumped after
exactly REQUESTS requests; profile-requests.sh does that) and prints, per request:
  - the instructions executed in user space by every thread of the process (Ir),
  - the inclusive instructions of each component (a function and everything it calls), from the
    COMPONENTS table below, and the share of the total they are,
  - the calls to malloc (heap allocations) and the syscall wrappers.

Components nest (the parser's header fields are inside the parser): the table says which rows
are parts of which. --top N also prints the N most expensive functions, inclusive and self.

Usage: callgrind_components.py FILE REQUESTS [--top N] [--markdown]
"""
import argparse
import re
import sys
from collections import defaultdict

# (row, regex on the demangled function name, which row it is part of or ""). Inclusive cost:
# a function's own instructions and those of everything it calls.
COMPONENTS = [
    ("HTTP session (read, parse, hand to handler, write)",
     r"BasicHttpSession<.*>::(OnBytes|OnWrite|OnAnswer|SendAnswer)\(", ""),
    ("Beast request parser (RequestParser::Put)", r"RequestParser::Put\(", ""),
    ("header fields (basic_fields insert/set/find/erase, both ways)",
     r"basic_fields<[\w:]+<char> >::(insert|set|erase|find|new_element|delete_element|"
     r"set_element|~basic_fields|clear|set_chunked_impl|set_content_length_impl|"
     r"set_keep_alive_impl|set_connection_impl|set_method_impl|set_target_impl|set_reason_impl|"
     r"realloc_string|count|equal_range|get_chunked_impl|get_keep_alive_impl)", ""),
    ("serialise answer (server::Serialize)", r"vwr::server::Serialize\(", ""),
    ("handler: router + handler (PublicRouter::Serve)", r"PublicRouter::Serve\(", ""),
    ("  routing (PublicApi::Route; TRACER: the call's state, key, cookie) minus the action",
     r"^$", ""),
    ("  guard (RequestContext::Guard)", r"RequestContext::Guard\(", ""),
    ("  ticket decode (TicketCodec::Decode)", r"TicketCodec::Decode\(", ""),
    ("  ticket encode (TicketCodec::Encode)", r"TicketCodec::Encode\(", ""),
    ("  store: cached status (StatusCached)", r"::StatusCached\(", ""),
    ("  store: join (RoomState::Join)", r"EmbeddedRoom::Join\(", ""),
    ("  TRACER identity and form", r"vwr::tracer::(ParseForm|.*Identity.*|.*FindWaiting.*)\(", ""),
    ("  answer body (RenderAnswer, TRACER answer)",
     r"(PublicApi::RenderAnswer|TracerApi::Render\w*|tracer::Render\w*|Append\w*Answer)\(", ""),
    ("  answer headers (MakeJson, JsonResponse, Xml answer)",
     r"vwr::http::(MakeJson|MakeXml|MakeText)\(", ""),
    ("  metrics (ApiMetrics::Record, the room's poll count)",
     r"ApiMetrics::Record\(|RequestPipeline::Begin|SteadyClock::Now", ""),
    ("  error log (ErrorLog::Record)", r"ErrorLog::Record\(", ""),
    ("journal (append, group commit on its writer thread) minus the answers it releases",
     r"vwr::store::Journal::", ""),
    ("  the answers released (join answer made on the journal's thread)",
     r"_Function_handler<void \(bool\), vwr::store::EmbeddedRoom::Settle", ""),
    ("asio scheduler and reactor (self)", r"boost::asio::detail::(scheduler|epoll_reactor)::", ""),
    ("malloc/free", r"^(malloc|free|_int_malloc|_int_free|cfree|operator new|operator delete)",
     ""),
    ("recycled memory (header field blocks, answer bodies)",
     r"^vwr::(util::Recycled(Allocate|Deallocate)|http::(TakeAnswerBody|RecycleAnswerBody))\(",
     ""),
]
SYSCALLS = r"^(__libc_)?(sendmsg|recvmsg|epoll_wait|writev|write|read|recvfrom|sendto|" \
           r"futex|__futex\w*|fdatasync|fsync|pwrite64|syscall)$"


def parse(path):
    """-> (self cost by fn, inclusive call cost by (fn, callee), call count by callee, total)."""
    names = {}
    self_cost = defaultdict(int)
    call_cost = defaultdict(int)
    calls_to = defaultdict(int)
    total = 0
    fn = None
    pending_call = None  # (callee, count) waiting for its cost line

    def name_of(text):
        m = re.match(r"\((\d+)\)(?: (.*))?$", text)
        if not m:
            return text
        if m.group(2) is not None:
            names[m.group(1)] = m.group(2).replace("[abi:cxx11]", "")
        return names.get(m.group(1), m.group(1))

    with open(path, errors="replace") as f:
        for line in f:
            line = line.rstrip("\n")
            if not line:
                continue
            c = line[0]
            if c.isdigit() or c in "+-*":
                cost = int(line.split()[-1]) if len(line.split()) > 1 else 0
                if pending_call is not None:
                    callee, count = pending_call
                    if callee != fn:
                        call_cost[(fn, callee)] += cost
                    calls_to[callee] += count
                    pending_call = None
                else:
                    self_cost[fn] += cost
            elif line.startswith("fn="):
                fn = name_of(line[3:])
            elif line.startswith("cfn="):
                cfn = name_of(line[4:])
            elif line.startswith("calls="):
                pending_call = (cfn, int(line[6:].split()[0]))
            elif line.startswith("summary:") or line.startswith("totals:"):
                total = max(total, int(line.split()[1]))
    return self_cost, call_cost, calls_to, total


def main():
    p = argparse.ArgumentParser()
    p.add_argument("file")
    p.add_argument("requests", type=int)
    p.add_argument("--top", type=int, default=0)
    p.add_argument("--markdown", action="store_true")
    a = p.parse_args()
    self_cost, call_cost, calls_to, total = parse(a.file)
    if total == 0:
        total = sum(self_cost.values())
    inclusive = defaultdict(int, self_cost)
    out_calls = defaultdict(int)
    for (caller, _), cost in call_cost.items():
        inclusive[caller] += cost
        out_calls[caller] += cost
    n = a.requests

    def incl(regex):
        # Everything run while a matching function is on the stack: their inclusive costs,
        # less what one matching function spends calling another (counted in both).
        r = re.compile(regex)
        members = {k for k in inclusive if r.search(k)}
        nested = sum(v for (caller, callee), v in call_cost.items()
                     if caller in members and callee in members)
        return sum(inclusive[k] for k in members) - nested

    rows = []
    for row, regex, _ in COMPONENTS:
        if row.strip().startswith("routing"):
            # The routers' own work: Route/Serve minus the actions they call.
            value = incl(r"PublicApi::Route\(|TracerApi::Serve\(") - incl(
                r"PublicApi::(Status|Join)\(|RequestContext::Guard\(|PublicApi::NameTicket|"
                r"TracerApi::(Input|Reply|JoinFor|Answer|RoomFor|Lookup)\(|tracer::(ParseForm|TracerIdentity)\(|"
                r"FormFields::|http::FindCookie|RequestPipeline::Begin")
        elif row.startswith("journal"):
            value = incl(regex) - incl(r"_Function_handler<void \(bool\), vwr::store::EmbeddedRoom::Settle")
        elif row.startswith("asio"):
            r = re.compile(regex)
            value = sum(v for k, v in self_cost.items() if r.search(k))
        elif row.startswith("malloc"):
            r = re.compile(regex)
            value = sum(v for k, v in self_cost.items() if r.search(k))
        else:
            value = incl(regex)
        rows.append((row, value))
    mallocs = sum(v for k, v in calls_to.items() if re.match(r"^malloc$", k))
    rsys = re.compile(SYSCALLS)
    syscalls = {k: v for k, v in calls_to.items() if rsys.match(k)}

    if a.markdown:
        print("| component | instructions per request | share |")
        print("|---|---:|---:|")
        print(f"| **all user-space instructions, every thread** | **{total / n:,.0f}** | 100 % |")
        for row, value in rows:
            if value:
                print(f"| {row} | {value / n:,.0f} | {100 * value / total:.1f} % |")
        print(f"\nmalloc calls per request: {mallocs / n:.2f}")
    else:
        print(f"instructions per request (user space, all threads): {total / n:,.0f}")
        for row, value in rows:
            if value:
                print(f"  {row:<72} {value / n:>9,.0f}  {100 * value / total:5.1f} %")
        print(f"malloc calls per request: {mallocs / n:.2f}")
    print("syscall wrapper calls per request: " +
          ", ".join(f"{k} {v / n:.2f}" for k, v in sorted(syscalls.items()) if v / n >= 0.01))
    if a.top:
        print(f"\ntop {a.top} inclusive:")
        for k, v in sorted(inclusive.items(), key=lambda kv: -kv[1])[:a.top]:
            print(f"  {v / n:>10,.0f}  {k[:150]}")
        print(f"\ntop {a.top} self:")
        for k, v in sorted(self_cost.items(), key=lambda kv: -kv[1])[:a.top]:
            print(f"  {v / n:>10,.0f}  {k[:150]}  (calls/req {calls_to.get(k, 0) / n:.2f})")


if __name__ == "__main__":
    sys.exit(main())
