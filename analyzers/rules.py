"""The element-check rule catalog: every rule the analyzers can report, as data.

Ids are stable and grouped by range: KS0xx analysis itself (parse errors,
crashes, suppressions), KS1xx mutable global state, KS2xx router state, KS3xx
kernel symbols and kernel-only code, KS4xx unsafe constructs.  (KS5xx is left
for loops and cost, issue 5.)  Each rule's default verdict class (what a finding
on the packet path does to the element: ``reject``, ``userspace``, ``error`` or
``none``) is in the shipped policy, ``analyzers/policy_default.yaml``, so users
can tighten it.  Message text is written here once.
"""

from __future__ import annotations

from certify.core.findings import Rule

_R = Rule

RULES: tuple[Rule, ...] = (
    _R("KS001", "parse-error", "{detail}", "error",
       "Code that does not parse cannot be analyzed; the element is not certifiable for the kernel.",
       "#include <missing.h>", "#include <click/element.hh>"),
    _R("KS002", "analysis-crash", "the analyzer failed on this element: {detail}", "error",
       "A crash proves nothing: the element's verdict becomes an error, never a pass.", "", ""),
    _R("KS003", "unused-suppression", "suppression of {rule_id} matches no finding on this line", "warning",
       "A suppression that silences nothing hides nothing today but would hide a future finding unreviewed.",
       "x = 1;  // certify: allow KS101 legacy", "x = 1;"),
    _R("KS004", "bad-suppression", "suppression needs a known rule id and a reason: {detail}", "warning",
       "Every suppression is audited; one without a rule id or a reason cannot be.",
       "// certify: allow KS101", "// certify: allow KS101 read-only after configure"),
    _R("KS005", "element-unseen", "exported element {symbol} was not found by the parse", "error",
       "An exported class the parse did not see (kernel-only code, a parse error) cannot be analyzed.",
       "#if CLICK_LINUXMODULE\nclass K : public Element {...};\n#endif\nEXPORT_ELEMENT(K)", ""),
    _R("KS101", "global-write", "writes mutable global state {symbol}", "error",
       "Globals are shared by every network in the kernel Click: a write is visible to other networks.",
       "static int count; ... count++;", "int _count;  // a member ... _count++;"),
    _R("KS102", "global-read", "reads mutable global state {symbol}", "error",
       "Reading a mutable global observes what other networks' elements wrote.",
       "extern int g_mode; ... if (g_mode) ...", "static const int table[] = {1, 2}; ... table[i]"),
    _R("KS103", "static-local", "function-local static {symbol} is state shared by every instance", "error",
       "A function-local static lives once per kernel Click, across all networks.",
       "static int calls = 0;", "int calls = 0;"),
    _R("KS104", "const-cast-global", "const_cast removes const from global {symbol}", "error",
       "Casting away const on a constant table makes shared state writable.",
       "const_cast<int *>(table)[0] = 1;", "int copy = table[0];"),
    _R("KS201", "router-access", "reaches the router through {symbol}", "error",
       "The Router and Master hold every network's elements; reaching them escapes the network.",
       "router()->find(\"x\", this)", "output(0).push(p)"),
    _R("KS202", "element-access", "calls {symbol} on another element", "error",
       "Another element may belong to another network; only packets may flow between elements.",
       "output(0).element()->push(0, p)", "output(0).push(p)"),
    _R("KS203", "handler-access", "calls a handler through {symbol}", "error",
       "Handlers of other elements read and change other networks' state.",
       "HandlerCall::call_write(\"q.reset\", this)", "_count = 0;"),
    _R("KS301", "kernel-symbol", "uses kernel symbol {symbol}", "error",
       "Kernel functions and variables act on the whole machine; an element using them needs the kernel.",
       "printk(\"x\");", "click_chatter(\"x\");"),
    _R("KS302", "extern-c", "uses {symbol}, declared extern \"C\" by the element", "error",
       "An element declaring C symbols itself is binding to something outside Click: a kernel or libc symbol.",
       "extern \"C\" int netif_rx(void *);", ""),
    _R("KS303", "unresolved-symbol", "calls {symbol}, whose definition is not visible", "error",
       "What cannot be seen cannot be proven safe; it may be a kernel function.",
       "void helper(); ... helper();  // defined elsewhere", "static void helper() { ... }"),
    _R("KS304", "kernel-only-code", "code compiled only for the kernel (lines {first}-{last}) is not analyzed", "error",
       "The user-level parse does not see kernel-only code; it may use kernel facilities, so it is never certified.",
       "#if CLICK_LINUXMODULE\n  local_bh_disable();\n#endif", ""),
    _R("KS305", "kernel-header", "includes kernel header <{symbol}>", "error",
       "A kernel-internal header that every user-level build includes means the element needs the kernel.",
       "#include <linux/netdevice.h>", "#include <clicknet/ether.h>"),
    _R("KS306", "requires-kernel", "ELEMENT_REQUIRES({symbol}): the element needs a kernel driver", "error",
       "An element that declares it needs linuxmodule (or bsdmodule) uses kernel facilities by its author's account.",
       "ELEMENT_REQUIRES(linuxmodule)", ""),
    _R("KS307", "requires-userlevel", "ELEMENT_REQUIRES({symbol}): the element runs only at user level", "warning",
       "An element that declares it needs the user-level driver cannot run in the kernel.",
       "ELEMENT_REQUIRES(userlevel)", ""),
    _R("KS401", "inline-asm", "inline assembly", "error",
       "Assembly cannot be analyzed and can do anything to the machine.",
       "asm volatile(\"cli\");", ""),
    _R("KS402", "int-to-pointer", "cast from integer to pointer type {symbol}", "error",
       "A pointer made from an integer can point anywhere in the kernel's memory.",
       "(char *) 0xffff0000", "p->data() + off"),
    _R("KS403", "reinterpret-cast", "reinterpret_cast to {symbol} from a non-byte pointer", "error",
       "Reinterpreting an object as an unrelated type breaks memory safety; only raw bytes may be viewed as a header.",
       "reinterpret_cast<Foo *>(other_element)", "reinterpret_cast<click_ether *>(q->data())"),
    _R("KS404", "indirect-call", "indirect call through {symbol} cannot be resolved", "error",
       "The target of a function pointer is not known, so it cannot be checked.",
       "_fn(p);  // void (*_fn)(Packet *)", "helper(p);"),
    _R("KS405", "virtual-call", "virtual call to {symbol} whose overrides cannot all be seen", "error",
       "Any subclass may override the method; the code that runs is not known.",
       "_delegate->process(p);", "process(p);  // this element's own method"),
    _R("KS406", "alloca", "stack allocation of run-time size ({symbol})", "error",
       "The kernel stack is small; alloca and variable-length arrays can overflow it.",
       "char buf[n];", "char buf[64];"),
    _R("KS407", "setjmp", "non-local jump {symbol}", "error",
       "setjmp/longjmp skip destructors and unlock paths and are not available in the kernel.",
       "longjmp(env, 1);", "return;"),
    _R("KS408", "exception", "C++ exception ({symbol})", "error",
       "Kernel Click is built without exceptions.",
       "throw 1;", "return 0;"),
    _R("KS409", "dynamic-allocation", "dynamic memory ({symbol})", "error",
       "Allocation on the packet path can fail or exhaust shared kernel memory.",
       "int *x = new int[n];", "WritablePacket *q = p->uniqueify();"),
    _R("KS410", "goto", "goto", "warning",
       "goto defeats the structured analysis of loops and cleanup.",
       "goto again;", "while (again) ..."),
)

# KS5xx, loop bounds: written beside the analysis that raises them (analyzers/annotations.py)
from analyzers.annotations import RULES as _BOUND_RULES  # noqa: E402

RULES = RULES + tuple(_BOUND_RULES)
BY_ID: dict[str, Rule] = {r.id: r for r in RULES}
BY_SYMBOL: dict[str, Rule] = {r.symbol: r for r in RULES}


def rule(rule_id: str) -> Rule:
    return BY_ID[rule_id]
