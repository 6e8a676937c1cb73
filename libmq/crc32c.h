/*
 * crc32c.h - CRC-32C (Castagnoli), as RecordBatch v2 uses it.
 */
#ifndef MQ_CRC32C_H
#define MQ_CRC32C_H

#include <stddef.h>
#include <stdint.h>

/*
 * mq_crc32c extends crc (0 to start) over len bytes at buf and returns the
 * new CRC, so that mq_crc32c(0, "123456789", 9) == 0xe3069283.  Uses the
 * SSE4.2 crc32 instruction when the CPU has it (checked once, at run time),
 * a table-driven portable version otherwise.  It cannot fail.
 */
uint32_t mq_crc32c(uint32_t crc, const void *buf, size_t len);

/* The portable version, exposed so tests can compare both paths. */
uint32_t mq_crc32c_sw(uint32_t crc, const void *buf, size_t len);

/* 1 if the hardware path is in use. */
int mq_crc32c_hw(void);

#endif
