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
  protected:
    unsigned char *_data;
    unsigned _length;
};
class WritablePacket : public Packet {
  public:
    unsigned char *data() const { return _data; }
};
#endif
