// Stub Click header written for certify (its bundled example and its analyzer tests): only what they use.
#ifndef CERTIFY_STUB_PACKET_HH
#define CERTIFY_STUB_PACKET_HH
#include <click/glue.hh>
class WritablePacket;
class Packet {
  public:
    const unsigned char *data() const { return _data; }
    unsigned length() const { return _length; }
    WritablePacket *uniqueify();
    void kill();
    static WritablePacket *make(unsigned length);
    WritablePacket *push(unsigned n);
    void pull(unsigned n);
    const unsigned char *network_header() const;
    const struct click_ip *ip_header() const;
    void set_network_header(const unsigned char *p, unsigned len);
  protected:
    unsigned char *_data;
    unsigned _length;
};
class WritablePacket : public Packet {
  public:
    unsigned char *data() const { return _data; }
};
#endif
