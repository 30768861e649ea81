// TTLGuard: drops packets shorter than a minimum length, passes the rest.
// Safe for the shared kernel: no global state, no router access, bounded work.
#include <click/config.h>
#include <click/element.hh>
CLICK_DECLS

class TTLGuard : public Element {
  public:
    const char *class_name() const { return "TTLGuard"; }
    const char *port_count() const { return PORTS_1_1; }
    Packet *simple_action(Packet *p) {
        if (p->length() < _min) {
            p->kill();
            return 0;
        }
        return p;
    }
  private:
    unsigned _min;
};

CLICK_ENDDECLS
EXPORT_ELEMENT(TTLGuard)
