// Stub Click header written for certify (its bundled example and its analyzer tests): only what they use.
#ifndef CERTIFY_STUB_ELEMENT_HH
#define CERTIFY_STUB_ELEMENT_HH
#include <click/packet.hh>
class Router;
class Master;
class ErrorHandler;
class Task;
class Timer;
class Element {
  public:
    static const char PORTS_1_1[];
    static const char AGNOSTIC[];
    Element();
    virtual ~Element();
    virtual const char *class_name() const = 0;
    virtual const char *port_count() const;
    virtual const char *processing() const;
    virtual int configure(void *conf, ErrorHandler *errh);
    virtual int initialize(ErrorHandler *errh);
    virtual void add_handlers();
    virtual void cleanup(int stage);
    virtual void push(int port, Packet *p);
    virtual Packet *pull(int port);
    virtual Packet *simple_action(Packet *p);
    virtual bool run_task(Task *task);
    virtual void run_timer(Timer *timer);
    virtual void selected(int fd, int mask);
    Router *router() const { return _router; }
    Master *master() const;
    class Port {
      public:
        void push(Packet *p) const;
        Packet *pull() const;
        Element *element() const { return _e; }
      private:
        Element *_e;
    };
    const Port &output(int i) const { return _ports[i]; }
    const Port &input(int i) const { return _ports[i]; }
    void checked_output_push(int port, Packet *p) const;
    int ninputs() const;
    int noutputs() const;
    typedef int (*WriteHandlerCallback)(const char *data, Element *e, void *thunk, ErrorHandler *errh);
    void add_write_handler(const char *name, WriteHandlerCallback h, int user_data);
  private:
    Router *_router;
    Port _ports[4];
};
#endif
