// bob: an IP router for one virtual device: ARP answered locally, IP packets
// checked, TTL decremented and sent back out; everything else dropped.
elementclass ClassifyEther {
  input -> c :: Classifier(12/0806 20/0001, 12/0800, -);
  c [0] -> [0] output;   // ARP queries
  c [1] -> [1] output;   // IP
  c [2] -> [2] output;   // other
}

in :: FromDevice(eth1);
out :: Queue(100) -> ToDevice(eth1);

in -> cl :: ClassifyEther;
cl [0] -> ARPResponder(10.2.0.1 02:00:00:00:02:01) -> out;
cl [1] -> Strip(14)
       -> CheckIPHeader
       -> DecIPTTL [0]
       -> EtherEncap(0x0800, 02:00:00:00:02:01, 02:00:00:00:02:fe)
       -> out;
cl [2] -> Discard;
