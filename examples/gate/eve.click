// eve: logs every packet through the kernel's printk: refused.
FromDevice(eth1) -> KernelPoke -> Queue(100) -> ToDevice(eth1);
