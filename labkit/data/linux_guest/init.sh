#!/bin/sh
# SPDX-License-Identifier: MIT
# /init of the lab's Linux guest, written by labkit/linux.py. The unikernel's contract on
# Linux: the app and its arguments are this script's arguments (the words after -- on the
# kernel command line), its output goes to COM1, events to COM2, its exit status to port 0xf4.
export PATH=/bin
labkit-guest milestone init
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
# virtio drivers, only when there is a virtio PCI device (vendor 0x1af4) and they are modules
for vendor in /sys/bus/pci/devices/*/vendor; do
    [ -r "$vendor" ] && read -r id < "$vendor" && [ "$id" = 0x1af4 ] || continue
    for m in /lib/modules/*.ko; do [ -e "$m" ] && insmod "$m" 2>/dev/null; done
    break
done
# the network, as the unikernel configures it: ip=A.B.C.D[/N] gw=A.B.C.D, QEMU's defaults
if [ -e /sys/class/net/eth0 ]; then
    case "${ip:=10.0.2.15/24}" in */*) ;; *) ip="$ip/24" ;; esac
    ip link set lo up
    ip link set eth0 up
    ip addr add "$ip" dev eth0
    ip route add default via "${gw:-10.0.2.2}"
fi
cd /apps
exec labkit-guest run "$@"
