// KernelPoke: logs every packet with the kernel's printk.  It needs the kernel
// itself: no network may use it.
#include <click/config.h>
#include <click/element.hh>
#include <click/kglue.hh>
CLICK_DECLS

class KernelPoke : public Element {
  public:
    const char *class_name() const { return "KernelPoke"; }
    const char *port_count() const { return PORTS_1_1; }
    Packet *simple_action(Packet *p) {
        printk("packet\n");
        return p;
    }
};

CLICK_ENDDECLS
EXPORT_ELEMENT(KernelPoke)
