"""The rule registry: every rule certify reports, declared once, here.

A rule is data (:class:`certify.core.findings.Rule`): a stable id, a symbol
(its name), the message template a finding fills, the severity, the default
effect of a finding, why the rule exists (its help), and a bad and a good
example.  The families:

* ``KS``: element checks of the analyzers (KS0xx the analysis itself, KS1xx
  mutable global state, KS2xx router state, KS3xx kernel symbols and
  kernel-only code, KS4xx unsafe constructs, KS5xx loop bounds and cost).  The
  effect is the verdict class a finding on the packet path gives the element:
  ``reject`` (it needs the kernel), ``userspace`` (a user-level container holds
  it), ``error`` (the analysis failed) or ``none`` (reported only).  A user's
  analyzer policy (``--analyzer-policy``, key ``verdicts``) may change it;
* ``MN``: configuration checks and the merge (MN1xx isolation, MN2xx ports,
  MN3xx partition);
* ``GA``: the pre-merge gate.

For MN and GA the effect is what a finding does to the run: ``refuse`` (the
merge or the gate fails), ``move`` (the element runs in its network's
container), ``none`` (reported only).

Adding a rule: one entry here, the check that reports it (by the Rule object:
``rule("KS123")`` or the constant), and one fixture that triggers it
(``tests/test_rule_registry.py`` fails for a rule without one).
"""

from __future__ import annotations

from certify.core.findings import Rule

KS_RULES: tuple[Rule, ...] = (
    Rule(
        id="KS001",
        symbol="parse-error",
        message="{detail}",
        severity="error",
        effect="userspace",
        rationale="Code that does not parse cannot be analyzed; the element is not certifiable for the kernel.",
        bad="#include <missing.h>",
        good="#include <click/element.hh>",
    ),
    Rule(
        id="KS002",
        symbol="analysis-crash",
        message="the analyzer failed on this element: {detail}",
        severity="error",
        effect="error",
        rationale="A crash proves nothing: the element's verdict becomes an error, never a pass.",
    ),
    Rule(
        id="KS003",
        symbol="unused-suppression",
        message="suppression of {rule_id} matches no finding on this line",
        severity="warning",
        effect="none",
        rationale="A suppression that silences nothing hides nothing today but would hide a future finding unreviewed.",
        bad="x = 1;  // certify: allow KS101 legacy",
        good="x = 1;",
    ),
    Rule(
        id="KS004",
        symbol="bad-suppression",
        message="suppression needs a known rule id and a reason: {detail}",
        severity="warning",
        effect="none",
        rationale="Every suppression is audited; one without a rule id or a reason cannot be.",
        bad="// certify: allow KS101",
        good="// certify: allow KS101 read-only after configure",
    ),
    Rule(
        id="KS005",
        symbol="element-unseen",
        message="exported element {symbol} was not found by the parse",
        severity="error",
        effect="userspace",
        rationale="An exported class the parse did not see (kernel-only code, a parse error) cannot be analyzed.",
        bad="#if CLICK_LINUXMODULE\nclass K : public Element {...};\n#endif\nEXPORT_ELEMENT(K)",
        good="",
    ),
    Rule(
        id="KS101",
        symbol="global-write",
        message="writes mutable global state {symbol}",
        severity="error",
        effect="userspace",
        rationale="Globals are shared by every network in the kernel Click: a write is visible to other networks.",
        bad="static int count; ... count++;",
        good="int _count;  // a member ... _count++;",
    ),
    Rule(
        id="KS102",
        symbol="global-read",
        message="reads mutable global state {symbol}",
        severity="error",
        effect="userspace",
        rationale="Reading a mutable global observes what other networks' elements wrote.",
        bad="extern int g_mode; ... if (g_mode) ...",
        good="static const int table[] = {1, 2}; ... table[i]",
    ),
    Rule(
        id="KS103",
        symbol="static-local",
        message="function-local static {symbol} is state shared by every instance",
        severity="error",
        effect="userspace",
        rationale="A function-local static lives once per kernel Click, across all networks.",
        bad="static int calls = 0;",
        good="int calls = 0;",
    ),
    Rule(
        id="KS104",
        symbol="const-cast-global",
        message="const_cast removes const from global {symbol}",
        severity="error",
        effect="userspace",
        rationale="Casting away const on a constant table makes shared state writable.",
        bad="const_cast<int *>(table)[0] = 1;",
        good="int copy = table[0];",
    ),
    Rule(
        id="KS201",
        symbol="router-access",
        message="reaches the router through {symbol}",
        severity="error",
        effect="userspace",
        rationale="The Router and Master hold every network's elements; reaching them escapes the network.",
        bad='router()->find("x", this)',
        good="output(0).push(p)",
    ),
    Rule(
        id="KS202",
        symbol="element-access",
        message="calls {symbol} on another element",
        severity="error",
        effect="userspace",
        rationale="Another element may belong to another network; only packets may flow between elements.",
        bad="output(0).element()->push(0, p)",
        good="output(0).push(p)",
    ),
    Rule(
        id="KS203",
        symbol="handler-access",
        message="calls a handler through {symbol}",
        severity="error",
        effect="userspace",
        rationale="Handlers of other elements read and change other networks' state.",
        bad='HandlerCall::call_write("q.reset", this)',
        good="_count = 0;",
    ),
    Rule(
        id="KS301",
        symbol="kernel-symbol",
        message="uses kernel symbol {symbol}",
        severity="error",
        effect="reject",
        rationale="Kernel functions and variables act on the whole machine; an element using them needs the kernel.",
        bad='printk("x");',
        good='click_chatter("x");',
    ),
    Rule(
        id="KS302",
        symbol="extern-c",
        message='uses {symbol}, declared extern "C" by the element',
        severity="error",
        effect="reject",
        rationale="An element declaring C symbols itself is binding to something outside Click: a kernel or libc symbol.",
        bad='extern "C" int netif_rx(void *);',
        good="",
    ),
    Rule(
        id="KS303",
        symbol="unresolved-symbol",
        message="calls {symbol}, whose definition is not visible",
        severity="error",
        effect="userspace",
        rationale="What cannot be seen cannot be proven safe; it may be a kernel function.",
        bad="void helper(); ... helper();  // defined elsewhere",
        good="static void helper() { ... }",
    ),
    Rule(
        id="KS304",
        symbol="kernel-only-code",
        message="code compiled only for the kernel (lines {first}-{last}) is not analyzed",
        severity="error",
        effect="userspace",
        rationale="The user-level parse does not see kernel-only code; it may use kernel facilities, so it is never certified.",
        bad="#if CLICK_LINUXMODULE\n  local_bh_disable();\n#endif",
        good="",
    ),
    Rule(
        id="KS305",
        symbol="kernel-header",
        message="includes kernel header <{symbol}>",
        severity="error",
        effect="reject",
        rationale="A kernel-internal header that every user-level build includes means the element needs the kernel.",
        bad="#include <linux/netdevice.h>",
        good="#include <clicknet/ether.h>",
    ),
    Rule(
        id="KS306",
        symbol="requires-kernel",
        message="ELEMENT_REQUIRES({symbol}): the element needs a kernel driver",
        severity="error",
        effect="reject",
        rationale="An element that declares it needs linuxmodule (or bsdmodule) uses kernel facilities by its author's account.",
        bad="ELEMENT_REQUIRES(linuxmodule)",
        good="",
    ),
    Rule(
        id="KS307",
        symbol="requires-userlevel",
        message="ELEMENT_REQUIRES({symbol}): the element runs only at user level",
        severity="warning",
        effect="userspace",
        rationale="An element that declares it needs the user-level driver cannot run in the kernel.",
        bad="ELEMENT_REQUIRES(userlevel)",
        good="",
    ),
    Rule(
        id="KS401",
        symbol="inline-asm",
        message="inline assembly",
        severity="error",
        effect="userspace",
        rationale="Assembly cannot be analyzed and can do anything to the machine.",
        bad='asm volatile("cli");',
        good="",
    ),
    Rule(
        id="KS402",
        symbol="int-to-pointer",
        message="cast from integer to pointer type {symbol}",
        severity="error",
        effect="userspace",
        rationale="A pointer made from an integer can point anywhere in the kernel's memory.",
        bad="(char *) 0xffff0000",
        good="p->data() + off",
    ),
    Rule(
        id="KS403",
        symbol="reinterpret-cast",
        message="reinterpret_cast to {symbol} from a non-byte pointer",
        severity="error",
        effect="userspace",
        rationale="Reinterpreting an object as an unrelated type breaks memory safety; only raw bytes may be viewed as a header.",
        bad="reinterpret_cast<Foo *>(other_element)",
        good="reinterpret_cast<click_ether *>(q->data())",
    ),
    Rule(
        id="KS404",
        symbol="indirect-call",
        message="indirect call through {symbol} cannot be resolved",
        severity="error",
        effect="userspace",
        rationale="The target of a function pointer is not known, so it cannot be checked.",
        bad="_fn(p);  // void (*_fn)(Packet *)",
        good="helper(p);",
    ),
    Rule(
        id="KS405",
        symbol="virtual-call",
        message="virtual call to {symbol} whose overrides cannot all be seen",
        severity="error",
        effect="userspace",
        rationale="Any subclass may override the method; the code that runs is not known.",
        bad="_delegate->process(p);",
        good="process(p);  // this element's own method",
    ),
    Rule(
        id="KS406",
        symbol="alloca",
        message="stack allocation of run-time size ({symbol})",
        severity="error",
        effect="userspace",
        rationale="The kernel stack is small; alloca and variable-length arrays can overflow it.",
        bad="char buf[n];",
        good="char buf[64];",
    ),
    Rule(
        id="KS407",
        symbol="setjmp",
        message="non-local jump {symbol}",
        severity="error",
        effect="userspace",
        rationale="setjmp/longjmp skip destructors and unlock paths and are not available in the kernel.",
        bad="longjmp(env, 1);",
        good="return;",
    ),
    Rule(
        id="KS408",
        symbol="exception",
        message="C++ exception ({symbol})",
        severity="error",
        effect="userspace",
        rationale="Kernel Click is built without exceptions.",
        bad="throw 1;",
        good="return 0;",
    ),
    Rule(
        id="KS409",
        symbol="dynamic-allocation",
        message="dynamic memory ({symbol})",
        severity="error",
        effect="userspace",
        rationale="Allocation on the packet path can fail or exhaust shared kernel memory.",
        bad="int *x = new int[n];",
        good="WritablePacket *q = p->uniqueify();",
    ),
    Rule(
        id="KS410",
        symbol="goto",
        message="goto",
        severity="warning",
        effect="userspace",
        rationale="goto defeats the structured analysis of loops and cleanup.",
        bad="goto again;",
        good="while (again) ...",
    ),
    Rule(
        id="KS501",
        symbol="loopbound-contradicted",
        message="the proven bound {proven} contradicts the loopbound annotation ({annotated})",
        severity="error",
        effect="userspace",
        rationale="An annotation is trusted without proof; when the analysis proves the loop can run longer (or never as long as the annotated minimum), the annotation is wrong and every bound built on it is unsafe.",
        bad='_Pragma("loopbound min 0 max 8")\nfor (int i = 0; i < 10; i++) ...',
        good='_Pragma("loopbound min 0 max 10")\nfor (int i = 0; i < 10; i++) ...',
    ),
    Rule(
        id="KS502",
        symbol="unbounded-loop",
        message="loop has no proven bound: {reason}",
        severity="warning",
        effect="userspace",
        rationale="A loop without a bound can run forever inside the shared kernel, delaying every other network.",
        bad="while (p) p = p->next;",
        good="for (int i = 0; i < _n; i++) ...",
        # a whole packet-path method: its cost has no bound, or was not bound-analyzed at all
        variants=(("method", "packet-path method {method} {problem}"),),
    ),
)

MN_RULES: tuple[Rule, ...] = (
    Rule(
        id="MN100",
        symbol="config-error",
        message="{detail}",
        severity="error",
        effect="refuse",
        rationale="A configuration that does not parse and flatten exactly as Click reads it cannot be checked or merged.",
        bad="Idle -> -> Discard;",
        good="Idle -> Discard;",
    ),
    Rule(
        id="MN101",
        symbol="unassigned-device",
        message="{klass} uses device '{device}', which is not assigned to network {network} (assigned: {assigned})",
        severity="error",
        effect="refuse",
        rationale="A network may only touch the virtual devices the platform gave it; any other name is another network's device or the host's.",
        bad="FromDevice(eth3)  // eth3 is not in this network's devices",
        good="FromDevice(eth1)  // eth1 is assigned",
    ),
    Rule(
        id="MN102",
        symbol="forbidden-class",
        message="class {klass} is not allowed in a virtual network: {reason}",
        severity="error",
        effect="refuse",
        rationale="Some classes reach outside the network (host stack, sockets, files, router-wide control, scheduling); the list is the network policy.",
        bad="ToHost;",
        good="Discard;",
    ),
    Rule(
        id="MN103",
        symbol="unknown-class",
        message="class {klass} is not a stock Click element class; it needs a certification record before it can be merged",
        severity="error",
        effect="refuse",
        rationale="The merger only places elements it knows; an unknown class may do anything.",
        bad="MyElement;",
        good="Counter;",
    ),
    Rule(
        id="MN104",
        symbol="require-library",
        message="require(library {library}) reads a file outside the network's configuration",
        severity="error",
        effect="refuse",
        rationale="A library is read from the platform's file system and CLICKPATH; a network's configuration must be self-contained.",
        bad="require(library /etc/router/common.click);",
        good="(write the classes into the configuration)",
    ),
    Rule(
        id="MN105",
        symbol="require-package",
        message="require(package {package}) loads code into the shared router",
        severity="error",
        effect="refuse",
        rationale="A package is compiled code loaded into the shared kernel router; it must come through certification.",
        bad='require(package "mypackage");',
        good="(use certified classes)",
    ),
    Rule(
        id="MN106",
        symbol="reserved-name",
        message="element name '{name}' is in the platform's reserved namespace '{reserved}'",
        severity="error",
        effect="refuse",
        rationale="The merger names the elements it adds under each network's reserved prefix; a network's own element there could be confused with, or connected in place of, a platform element.",
        bad="_platform/out :: Queue;",
        good="out :: Queue;",
    ),
    Rule(
        id="MN107",
        symbol="device-read-twice",
        message="device '{device}' is read by more than one element ({others})",
        severity="error",
        effect="refuse",
        rationale="Each virtual device's incoming packets are delivered once, to one element.",
        bad="FromDevice(eth1) -> a; PollDevice(eth1) -> b;",
        good="FromDevice(eth1) -> Tee -> a, b;",
    ),
    Rule(
        id="MN108",
        symbol="device-argument",
        message="{klass} has no device name argument",
        severity="error",
        effect="refuse",
        rationale="The device a device element uses must be visible in its configuration.",
        bad="FromDevice;",
        good="FromDevice(eth1);",
    ),
    Rule(
        id="MN201",
        symbol="port-count",
        message="'{name}' ({klass}) {detail}",
        severity="error",
        effect="refuse",
        rationale="Click refuses an element used with more or fewer ports than its class has (click-check).",
        bad="Idle -> Discard [1] -> Idle;",
        good="Idle -> Discard;",
    ),
    Rule(
        id="MN202",
        symbol="unconnected-port",
        message="'{name}' ({klass}) {side} {port} is not connected",
        severity="error",
        effect="refuse",
        rationale="Click refuses an element with a port in its range left unconnected.",
        bad="t :: Tee; Idle -> t; t [0] -> Discard; t [2] -> Discard;",
        good="t [1] -> Discard;",
    ),
    Rule(
        id="MN203",
        symbol="push-pull",
        message="{detail}",
        severity="error",
        effect="refuse",
        rationale="A push output must meet a push input and a pull output a pull input; agnostic ports take their neighbours' (click-check).",
        bad="Idle -> Queue -> Discard -> ToDevice(eth1);",
        good="Idle -> Queue -> ToDevice(eth1);",
    ),
    Rule(
        id="MN204",
        symbol="port-connected-twice",
        message="'{name}' ({klass}) {kind} {side} {port} is connected more than once",
        severity="error",
        effect="refuse",
        rationale="A push output or a pull input can be connected to one port only (use Tee or a scheduler).",
        bad="s :: Idle; s -> Discard; s -> Discard;",
        good="s -> Tee(2) => Discard, Discard;",
    ),
    Rule(
        id="MN205",
        symbol="ports-unknown",
        message="ports of '{name}' ({klass}) are not known; its port checks are skipped",
        severity="note",
        effect="none",
        rationale="Port metadata comes from the stock element table (later the certified-element database).",
    ),
    Rule(
        id="MN301",
        symbol="uncertified-element",
        message="element '{element}' of network {network}: class {klass} cannot run anywhere: {reason}",
        severity="error",
        effect="refuse",
        rationale="An element runs in the kernel only with a fresh 'kernel' record and in the network's container only with a fresh 'userspace' one; a missing, stale or invalid record places it nowhere, so the merge is refused.",
        bad="Idle -> MyElement -> Discard;  // never certified",
        good="certify MyElement, then merge",
    ),
    Rule(
        id="MN302",
        symbol="rejected-element",
        message="element '{element}' of network {network}: class {klass} is rejected: {reason}",
        severity="error",
        effect="refuse",
        rationale="A rejected class needs kernel facilities or privileges: it may run neither in the kernel nor in a container.",
        bad="Idle -> KernelTun(1.0.0.1/8);",
        good="(a certified alternative)",
    ),
    Rule(
        id="MN303",
        symbol="platform-over-budget",
        message="platform element '{element}' on a kernel task costs {cost} units, above the budget of {budget}",
        severity="error",
        effect="refuse",
        rationale="A platform element cannot move to a container; its task must fit the budget (raise task_budget, or shorten the work: fewer tunnels on one device).",
    ),
    Rule(
        id="MN304",
        symbol="moved-to-user",
        message="element '{element}' of network {network} moved to its container: {reason}",
        severity="warning",
        effect="move",
        rationale="A kernel task may not run longer than the platform's budget; an element that alone exceeds it, or whose cost is unbounded or unknown, runs in the network's user-level Click instead.",
    ),
    Rule(
        id="MN305",
        symbol="sources-unavailable",
        message="element '{element}' of network {network}: the sources of class {klass} (record from layer {layer}) cannot be found, so an edit since certification would go unnoticed: {reason}",
        severity="warning",
        effect="none",
        rationale="A record proves one source version; when its sources cannot be found, an edited element would be placed as certified.  certify library records where the tree is (source_base); --source-root relocates it.",
    ),
)

GA_RULES: tuple[Rule, ...] = (
    Rule(
        id="GA101",
        symbol="uncertified-class",
        message="class {klass} has no certification record in the database",
        severity="error",
        effect="refuse",
        rationale="Only certified classes may be merged: an element nobody analyzed may do anything in the shared router.",
        bad="Idle -> MyNewElement -> Discard;  // never certified",
        good="certify element myelement.cc --db DB  (then gate)",
    ),
    Rule(
        id="GA102",
        symbol="stale-record",
        message="the record of class {klass} is stale: {reason}",
        severity="error",
        effect="refuse",
        rationale="A record certifies one source version under one analyzer and policy; after a change it proves nothing.",
        bad="(edit myelement.cc after certifying it)",
        good="re-certify the class",
    ),
    Rule(
        id="GA103",
        symbol="invalid-record",
        message="the record of class {klass} cannot be trusted: {reason}",
        severity="error",
        effect="refuse",
        rationale="A tampered, truncated or malformed record is treated as no record at all.",
        bad="(hand-edit the verdict in DB/MyElement.json)",
        good="re-certify the class",
    ),
    Rule(
        id="GA104",
        symbol="rejected-class",
        message="class {klass} is rejected: {reason}",
        severity="error",
        effect="refuse",
        rationale="A rejected class needs kernel facilities or platform privileges; no network may use it.",
        bad="Idle -> KernelTun;",
        good="(a certified alternative)",
    ),
    Rule(
        id="GA105",
        symbol="analysis-error",
        message="class {klass} could not be analyzed: {reason}",
        severity="error",
        effect="refuse",
        rationale="What could not be analyzed is never let through.",
    ),
    Rule(
        id="GA106",
        symbol="userspace-class",
        message="class {klass} will run in network {network}'s user-level container: {reason}",
        severity="warning",
        effect="none",
        rationale="A userspace class is safe only in the network's own process; the merge places it there, at a cost in speed.",
    ),
    Rule(
        id="GA107",
        symbol="sources-unavailable",
        message="the sources of class {klass} (record from layer {layer}) cannot be found, so an edit since certification would go unnoticed: {reason}",
        severity="warning",
        effect="none",
        rationale="A record proves one source version; when its sources cannot be found, an edited element would pass as certified.  certify library records where the tree is (source_base); --source-root relocates it.",
        bad="certify gate --db copied-db  (the tree the records name is not here)",
        good="certify gate --db copied-db --source-root ../my-elements",
    ),
)

RULES: tuple[Rule, ...] = KS_RULES + MN_RULES + GA_RULES
BY_ID: dict[str, Rule] = {r.id: r for r in RULES}
FAMILIES = {"KS": KS_RULES, "MN": MN_RULES, "GA": GA_RULES}
# A registry error is found at import, never silently: ids are unique, symbols unique within a family
# (the gate's GA107 and the merge's MN305 are the same concern, sources-unavailable, in two commands).
if len(BY_ID) != len(RULES) or any(len({r.symbol for r in f}) != len(f) for f in FAMILIES.values()):
    raise RuntimeError("duplicate rule id, or symbol within a family, in certify/core/rules.py")
if any(not r.id.startswith(prefix) for prefix, f in FAMILIES.items() for r in f):
    raise RuntimeError("a rule is declared in another family's list in certify/core/rules.py")
BY_SYMBOL: dict[str, Rule] = {}
for _r in sorted(RULES, key=lambda r: r.id):
    BY_SYMBOL.setdefault(_r.symbol, _r)


def rule(rule_id: str) -> Rule:
    """The rule with this id (KeyError for an unknown one: a check naming a rule that does not exist is a bug)."""
    return BY_ID[rule_id]


def find_rule(key: str) -> Rule | None:
    """The rule a user names, by id or symbol (``certify explain``)."""
    key = key.strip()
    return BY_ID.get(key.upper()) or BY_SYMBOL.get(key)


def default_effects() -> dict[str, str]:
    """The default verdict class of every KS rule (what the shipped analyzer policy starts from)."""
    return {r.id: r.effect for r in KS_RULES}
