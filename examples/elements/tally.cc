// Tally: counts packets per instance and, when configured with SHARED true, also into a tally shared by
// every instance (a static).  Without SHARED the shared tally is never touched: such an instance may run
// in the shared kernel.  With it, the packet path writes mutable global state (KS101), so that instance
// runs in its network's container.  The record says so: kernel unless SHARED is given.
#include <click/config.h>
#include <click/element.hh>
#include <click/args.hh>
CLICK_DECLS

static unsigned long shared_tally;

class Tally : public Element {
  public:
    Tally() : _shared(false), _count(0) {}
    const char *class_name() const { return "Tally"; }
    const char *port_count() const { return PORTS_1_1; }
    int configure(Vector<String> &conf, ErrorHandler *errh) {
        bool shared = false;
        if (Args(conf, this, errh).read("SHARED", shared).complete() < 0)
            return -1;
        if (shared)
            _shared = true;
        return 0;
    }
    Packet *simple_action(Packet *p) {
        _count++;
        if (_shared)
            shared_tally++;
        return p;
    }
  private:
    bool _shared;
    unsigned _count;
};

CLICK_ENDDECLS
EXPORT_ELEMENT(Tally)
