// FlowTap: counts packets in a counter shared by every instance (a static).
// In the kernel that counter would be shared by every network: userspace only.
#include <click/config.h>
#include <click/element.hh>
CLICK_DECLS

static unsigned long flowtap_packets;

class FlowTap : public Element {
  public:
    const char *class_name() const { return "FlowTap"; }
    const char *port_count() const { return PORTS_1_1; }
    Packet *simple_action(Packet *p) {
        flowtap_packets++;
        return p;
    }
};

CLICK_ENDDECLS
EXPORT_ELEMENT(FlowTap)
