/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Tandem test guest: C declarations shared by the CPL3 workload code
 * (main.c), the CPL0 fault reporter (fault.c) and the helpers (lib.c).
 * The status page layout here is the contract with tests and with
 * verify_dirty.py; README.md documents every offset.
 */
#ifndef TG_GUEST_H
#define TG_GUEST_H

#include <stdint.h>
#include <stddef.h>
#include <stdbool.h>
#include "layout.h"

typedef uint8_t u8;
typedef uint16_t u16;
typedef uint32_t u32;
typedef uint64_t u64;

#define TG_STATUS_MAGIC     0x5355544154534754ULL  /* "TGSTATUS" */
#define TG_STATUS_VERSION   1
#define TG_DIRTY_MAGIC      0x5954524944475400ULL  /* "\0TGDIRTY" */

enum { WL_COUNT = 1, WL_DIRTY = 2, WL_IDLE = 3, WL_FAULT = 4, WL_SERVE = 5, WL_DISK = 6,
       WL_IOPS = 7, WL_TOUCH = 8 };

struct tg_percpu {                  /* one cache line per CPU */
    volatile u64 heartbeat;
    volatile u32 online;            /* 1 once the CPU reached CPL3 */
    u32 pad0;
    u64 pad[6];
};

/*
 * serve: the network block of the status page (0x400).  Counters only go
 * up; tcp_states[] is the number of connections in each TCP state right
 * now (index = enum tcp_state in net/tcp.h, 0 = free slot, not counted).
 */
#define TG_NET_TCP_STATES   12
struct tg_net_status {
    volatile u32 flags;             /* 0x400: TG_NET_* below */
    u8 mac[6];                      /* 0x404 */
    u8 ip4[4];                      /* 0x40a: IPv4 address, network order */
    u8 prefix4;                     /* 0x40e */
    u8 pad0;
    volatile u64 rx_frames;         /* 0x410 */
    volatile u64 tx_frames;         /* 0x418 */
    volatile u64 rx_dropped;        /* 0x420: malformed, bad checksum, not for us */
    volatile u64 tx_dropped;        /* 0x428: ring full, no neighbour */
    volatile u64 icmp_echo;         /* 0x430: echo replies sent (v4 + v6) */
    volatile u64 udp_echo;          /* 0x438 */
    volatile u64 tcp_accepted;      /* 0x440 */
    volatile u64 tcp_closed;        /* 0x448 */
    volatile u64 tcp_rst_rx;        /* 0x450 */
    volatile u64 tcp_rst_tx;        /* 0x458 */
    volatile u64 tcp_retransmits;   /* 0x460 */
    volatile u64 tcp_timeouts;      /* 0x468: connections given up */
    volatile u64 tcp_refused_full;  /* 0x470: SYNs refused, table full */
    volatile u64 http_requests;     /* 0x478 */
    volatile u64 http_count;        /* 0x480: the /count counter */
    volatile u64 resp_commands;     /* 0x488 */
    volatile u64 resp_keys;         /* 0x490 */
    volatile u64 ndp_rx;            /* 0x498: NS/NA received */
    volatile u32 tcp_states[TG_NET_TCP_STATES]; /* 0x4a0 */
};

#define TG_NET_UP           (1u << 0)   /* virtio-net driver running */
#define TG_NET_IP4          (1u << 1)   /* IPv4 address configured */
#define TG_NET_IP6          (1u << 2)   /* global IPv6 address configured */
#define TG_NET_DHCP         (1u << 3)   /* address came from DHCP */
#define TG_NET_SERVING      (1u << 4)   /* services listening */

/*
 * disk, iops, serve persist=on: the disk block of the status page (0x600).
 * README.md documents it.
 */
struct tg_disk_status {
    volatile u32 flags;             /* 0x600: TG_DISK_* below */
    volatile u32 boot;              /* 0x604: boot count kept on the disk */
    u64 sectors;                    /* 0x608: device capacity */
    volatile u64 acked;             /* 0x610: highest record acknowledged by a flush */
    volatile u64 written;           /* 0x618: records written this boot */
    volatile u64 verified;          /* 0x620: records read back and found good */
    volatile u64 bad;               /* 0x628: records read back and found bad */
    volatile u64 io_errors;         /* 0x630: requests the device did not complete OK */
    volatile u64 device_bugs;       /* 0x638: used ids not in flight, missing status, ... */
    volatile u64 reads;             /* 0x640: completed read requests */
    volatile u64 writes;            /* 0x648: completed write requests */
    volatile u64 flushes;           /* 0x650: completed flushes */
    u64 disk_id;                    /* 0x658: from the superblock */
};

#define TG_DISK_UP          (1u << 0)   /* virtio-blk driver running */
#define TG_DISK_RUNNING     (1u << 1)   /* the workload passed its boot check */
#define TG_DISK_STOPPED     (1u << 2)   /* stopped on an error */

/*
 * irq=: the interrupt block of the status page (0x700).  count[i] is
 * written by the CPL0 stub of vector TG_IRQ_VEC_BASE + i (boot.S), the
 * rest by dev/irq.c at start.  README.md documents it.
 */
struct tg_irq_status {
    u32 mode;                       /* 0x700: enum tg_irq_mode */
    volatile u32 flags;             /* 0x704: TG_IRQ_ON once IF is set at CPL3 */
    u32 apic_id;                    /* 0x708: the BSP's, where interrupts go */
    u8 gsi[2];                      /* 0x70c: intx: virtio-net's, virtio-blk's (0xff none) */
    u16 pad0;
    u64 pad1[6];
    volatile u64 count[TG_IRQ_VECS];   /* 0x740: interrupts taken on vector 0x40 + i */
};

enum tg_irq_mode { TG_IRQ_NONE = 0, TG_IRQ_MSIX = 1, TG_IRQ_INTX = 2 };
#define TG_IRQ_ON           (1u << 0)

struct tg_status {
    u64 magic;                      /* 0x000 */
    u32 version;                    /* 0x008 */
    u32 workload;                   /* 0x00c */
    volatile u64 pass;              /* 0x010 */
    volatile u64 cursor;            /* 0x018 */
    volatile u64 dirty_seq;         /* 0x020: pass << 32 | cursor */
    volatile u64 lines;             /* 0x028 */
    u64 wss_base;                   /* 0x030 */
    u64 wss_size;                   /* 0x038 */
    volatile u64 counter;           /* 0x040: alone in its cache line */
    u64 pad1[7];
    volatile u32 cpus_online;       /* 0x080 */
    u32 flags;                      /* 0x084 */
    volatile u64 errors;            /* 0x088 */
    u64 tsc_khz;                    /* 0x090 */
    u64 ram_end;                    /* 0x098 */
    volatile u32 fault_vec;         /* 0x0a0 */
    u32 fault_cpu;                  /* 0x0a4 (unused, 0) */
    volatile u64 fault_rip;         /* 0x0a8 */
    u64 exit_after;                 /* 0x0b0 */
    u64 boot_tsc;                   /* 0x0b8 */
    u64 pad2[8];
    char cmdline[256];              /* 0x100 */
    struct tg_percpu cpu[TG_MAX_CPUS]; /* 0x200 */
    struct tg_net_status net;       /* 0x400 */
    u8 pad3[0x600 - 0x400 - sizeof(struct tg_net_status)];
    struct tg_disk_status disk;     /* 0x600 */
    u8 pad4[0x700 - 0x600 - sizeof(struct tg_disk_status)];
    struct tg_irq_status irq;       /* 0x700 */
};

#define TG_FLAG_SMP         (1u << 0)
#define TG_FLAG_MB_OK       (1u << 1)   /* booted with multiboot magic */
#define TG_FLAG_RUNNING     (1u << 2)   /* workload started */

#define STATUS ((struct tg_status *)TG_STATUS_ADDR)

_Static_assert(offsetof(struct tg_status, counter) == 0x40, "layout");
_Static_assert(offsetof(struct tg_status, cpus_online) == 0x80, "layout");
_Static_assert(offsetof(struct tg_status, boot_tsc) == 0xb8, "layout");
_Static_assert(offsetof(struct tg_status, cmdline) == 0x100, "layout");
_Static_assert(offsetof(struct tg_status, cpu) == 0x200, "layout");
_Static_assert(offsetof(struct tg_status, net) == 0x400, "layout");
_Static_assert(offsetof(struct tg_status, net.tcp_states) == 0x4a0, "layout");
_Static_assert(offsetof(struct tg_status, disk) == 0x600, "layout");
_Static_assert(offsetof(struct tg_status, disk.disk_id) == 0x658, "layout");
_Static_assert(offsetof(struct tg_status, irq) == 0x700, "layout");
_Static_assert(offsetof(struct tg_status, irq.count) == TG_IRQ_COUNT_OFF, "layout");
_Static_assert(sizeof(struct tg_status) <= 4096, "layout");

/* Register frame built by fault_common in boot.S. */
struct tg_frame {
    u64 r15, r14, r13, r12, r11, r10, r9, r8;
    u64 rbp, rdi, rsi, rdx, rcx, rbx, rax;
    u64 vec, err, rip, cs, rflags, rsp, ss;
};

/* Services (CPL3 -> CPL0 via ud2); see layout.h for the ABI. */
static inline u64 svc(u64 nr, u64 a, u64 b)
{
    asm volatile("ud2"
                 : "+a"(nr), "+D"(a), "+S"(b)
                 :
                 : "rcx", "rdx", "r8", "r9", "r10", "r11", "memory", "cc");
    return nr;
}

static inline void outb(u16 port, u8 v) { svc(SVC_OUTB, port, v); }
static inline void outl(u16 port, u32 v) { svc(SVC_OUTL, port, v); }
static inline u8 inb(u16 port) { return (u8)svc(SVC_INB, port, 0); }
static inline u32 inl(u16 port) { return (u32)svc(SVC_INL, port, 0); }
static inline u32 mmio_rd32(u64 a) { return (u32)svc(SVC_MMIO_RD32, a, 0); }
static inline void mmio_wr32(u64 a, u32 v) { svc(SVC_MMIO_WR32, a, v); }

static inline u64 rdtsc(void)
{
    u32 lo, hi;
    asm volatile("rdtsc" : "=a"(lo), "=d"(hi));
    return ((u64)hi << 32) | lo;
}

static inline void cpu_relax(void) { asm volatile("pause" ::: "memory"); }
static inline void barrier(void) { asm volatile("" ::: "memory"); }

static inline void cpuid(u32 leaf, u32 sub, u32 r[4])
{
    asm volatile("cpuid" : "=a"(r[0]), "=b"(r[1]), "=c"(r[2]), "=d"(r[3])
                 : "a"(leaf), "c"(sub));
}

/* lib.c: tiny line formatter (no libc). */
struct line {
    char buf[192];
    size_t len;
};
void ln_str(struct line *l, const char *s);
void ln_dec(struct line *l, u64 v);
void ln_hex(struct line *l, u64 v);
void *memcpy(void *d, const void *s, size_t n);
void *memset(void *d, int c, size_t n);
void *memmove(void *d, const void *s, size_t n);
int memcmp(const void *a, const void *b, size_t n);
/* Command-line numbers: decimal or 0x hex, optional K/M/G suffix. */
bool tg_parse_num(const char *s, size_t n, u64 *out);
size_t strlen(const char *s);

/*
 * alloc.c: bump allocator over TG_HEAP_BASE..TG_HEAP_END (capped at the end
 * of RAM); memory is never freed.  NULL when it runs out.
 */
void *tg_alloc(size_t size, size_t align);

/* main.c: output for other CPL3 files (a line gets "\r\n" appended). */
void tg_print(struct line *l);
void tg_workload_line(struct line *l);  /* counts for exit-after= */
void tg_fatal(struct line *l) __attribute__((noreturn));   /* exit code 2 */

/* boot.S */
extern u32 mb_magic, mb_info;
extern u64 pt_pdpt[512], pt_pd[4 * 512];
extern u64 idt[TG_IDT_GATES * 2];
extern char irq_stubs[], irq_spurious[];
extern char tramp_start[], tramp_end[];

void bsp_main(u32 cpu) __attribute__((noreturn));
void ap_main(u32 cpu) __attribute__((noreturn));
void tg_fault(struct tg_frame *f) __attribute__((noreturn));

#endif
