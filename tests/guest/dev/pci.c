/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Tandem test guest: minimal PCI (config mechanism #1, bus 0 scan, memory
 * BAR assignment and mapping) and the pci=/mmio= options.
 *
 * BAR mapping: boot.S maps 0-4 GiB with 2 MiB pages, write-back, U/S set.
 * Device registers must be uncached, so the 2 MiB pages covering a BAR
 * get PCD|PWT here (CPL3 may edit the page tables: they are user pages),
 * then one service reloads CR3.  A BAR above 4 GiB (a 64-bit BAR the
 * firmware put high) gets a fresh page directory for its 1 GiB.
 */
#include "pci.h"

#define PCI_CFG_ADDR    0xcf8
#define PCI_CFG_DATA    0xcfc

#define PTE_P   0x01ULL
#define PTE_W   0x02ULL
#define PTE_U   0x04ULL
#define PTE_PWT 0x08ULL
#define PTE_PCD 0x10ULL
#define PTE_PS  0x80ULL

static u64 next_window = PCI_MMIO_WINDOW;
struct dev_config devcfg;

bool dev_option(const char *key, size_t kn, const char *v, size_t vn, bool *ok)
{
    if (kn == 3 && !memcmp(key, "pci", 3)) {
        *ok = (vn == 6 && !memcmp(v, "assign", 6)) || (vn == 8 && !memcmp(v, "firmware", 8));
        devcfg.pci_assign = vn == 6;
    } else if (kn == 4 && !memcmp(key, "mmio", 4)) {
        *ok = (vn == 3 && !memcmp(v, "svc", 3)) || (vn == 6 && !memcmp(v, "direct", 6));
        devcfg.mmio_svc = vn == 3;
    } else if (kn == 3 && !memcmp(key, "irq", 3)) {
        if (vn == 4 && !memcmp(v, "msix", 4)) {
            devcfg.irq = TG_IRQ_MSIX;
        } else if (vn == 4 && !memcmp(v, "intx", 4)) {
            devcfg.irq = TG_IRQ_INTX;
        } else if (vn == 4 && !memcmp(v, "none", 4)) {
            devcfg.irq = TG_IRQ_NONE;
        } else {
            *ok = false;
        }
    } else {
        return false;
    }
    return true;
}

static void pci_select(const struct pci_dev *d, u32 off)
{
    outl(PCI_CFG_ADDR, 0x80000000u | d->bdf << 8 | (off & 0xfc));
}

u32 pci_read32(const struct pci_dev *d, u32 off)
{
    pci_select(d, off);
    return inl(PCI_CFG_DATA);
}

u16 pci_read16(const struct pci_dev *d, u32 off)
{
    return (u16)(pci_read32(d, off & ~3u) >> (8 * (off & 2)));
}

u8 pci_read8(const struct pci_dev *d, u32 off)
{
    return (u8)(pci_read32(d, off & ~3u) >> (8 * (off & 3)));
}

void pci_write32(const struct pci_dev *d, u32 off, u32 v)
{
    pci_select(d, off);
    outl(PCI_CFG_DATA, v);
}

/* Read-modify-write of the dword: keeps the neighbouring 16 bits. */
void pci_write16(const struct pci_dev *d, u32 off, u16 v)
{
    u32 shift = 8 * (off & 2);
    u32 old = pci_read32(d, off & ~3u);

    old &= ~(0xffffu << shift);
    pci_write32(d, off & ~3u, old | (u32)v << shift);
}

u8 pci_find_cap(const struct pci_dev *d, u8 id)
{
    u8 ptr;
    int guard;

    if (!(pci_read16(d, PCI_STATUS) & PCI_STATUS_CAP_LIST)) {
        return 0;
    }
    ptr = pci_read8(d, PCI_CAP_PTR) & 0xfc;
    for (guard = 0; ptr >= 0x40 && guard < 48; guard++) {
        u16 w = pci_read16(d, ptr);

        if ((w & 0xff) == id) {
            return ptr;
        }
        ptr = (u8)(w >> 8) & 0xfc;
    }
    return 0;
}

bool pci_find(u16 vendor, const u16 *ids, size_t nids, struct pci_dev *out)
{
    u32 dev, fn;
    size_t i;

    for (dev = 0; dev < 32; dev++) {
        for (fn = 0; fn < 8; fn++) {
            struct pci_dev d = { .bdf = dev << 3 | fn };
            u32 id = pci_read32(&d, PCI_VENDOR_ID);

            if ((id & 0xffff) == 0xffff) {
                if (fn == 0) {
                    break;              /* no device in this slot */
                }
                continue;
            }
            d.vendor = (u16)id;
            d.device = (u16)(id >> 16);
            for (i = 0; i < nids; i++) {
                if (d.vendor == vendor && d.device == ids[i]) {
                    *out = d;
                    return true;
                }
            }
            if (fn == 0 && !(pci_read8(&d, PCI_HEADER_TYPE) & 0x80)) {
                break;                  /* not multi-function */
            }
        }
    }
    return false;
}

/* Marks [addr, addr+len) uncached in the identity map; false if > 512 GiB. */
static bool map_uncached(u64 addr, u64 len)
{
    u64 a;

    for (a = addr & ~0x1fffffULL; a < addr + len; a += 0x200000) {
        u64 *pde;

        if (a >= (512ULL << 30)) {
            return false;
        }
        if (a < (4ULL << 30)) {
            pde = &pt_pd[a >> 21];      /* the four boot PDs are contiguous */
        } else {
            u64 *pdpte = &pt_pdpt[a >> 30];

            if (!(*pdpte & PTE_P)) {
                u64 *fresh = tg_alloc(4096, 4096);
                u64 i, base = a & ~((1ULL << 30) - 1);

                if (!fresh) {
                    return false;
                }
                for (i = 0; i < 512; i++) {
                    fresh[i] = (base + (i << 21)) | PTE_P | PTE_W | PTE_U | PTE_PS;
                }
                *pdpte = (u64)fresh | PTE_P | PTE_W | PTE_U;
            }
            pde = (u64 *)(*pdpte & ~0xfffULL) + ((a >> 21) & 511);
        }
        *pde |= PTE_PCD | PTE_PWT;
    }
    barrier();
    svc(SVC_FLUSH_TLB, 0, 0);
    return true;
}

bool pci_map_bar(const struct pci_dev *d, unsigned bar, u64 *addr, struct line *err)
{
    u32 off = PCI_BAR0 + 4 * bar;
    u32 lo = pci_read32(d, off);
    bool is64 = (lo & 0x6) == 0x4;
    u64 a = lo & ~0xfULL;
    u16 cmd = pci_read16(d, PCI_COMMAND);

    if (bar > 5 || (lo & 1) || (is64 && bar == 5)) {
        ln_str(err, "BAR is not a memory BAR");
        return false;
    }
    if (is64) {
        a |= (u64)pci_read32(d, off + 4) << 32;
    }
    if (!a || devcfg.pci_assign) {
        /*
         * Unassigned (no firmware ran, e.g. a VMM's direct multiboot load),
         * or pci=assign asked to act as if: size it with decoding off, then
         * place it.
         */
        u64 size;

        pci_write16(d, PCI_COMMAND, cmd & (u16)~PCI_CMD_MEMORY);
        pci_write32(d, off, 0xffffffff);
        size = ~(u64)(pci_read32(d, off) & ~0xfu) + 1;
        size &= 0xffffffffULL;
        if (!size || size > (256u << 20)) {
            ln_str(err, "BAR has an impossible size");
            return false;
        }
        a = (next_window + size - 1) & ~(size - 1);
        if (a + size > PCI_MMIO_WINDOW_END) {
            ln_str(err, "no room for the BAR in the MMIO window");
            return false;
        }
        next_window = a + size;
        pci_write32(d, off, (u32)a);
        if (is64) {
            pci_write32(d, off + 4, 0);
        }
    }
    pci_write16(d, PCI_COMMAND, cmd | PCI_CMD_MEMORY | PCI_CMD_MASTER);
    if (!map_uncached(a, 0x1000)) {
        ln_str(err, "BAR is above 512 GiB, which the guest cannot map");
        return false;
    }
    *addr = a;
    return true;
}
