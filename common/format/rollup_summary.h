/*
 * rollup_summary: the counts of a DownstreamServerRollupServerSummary (MS-WSUSSS 3.1.4.14.3.3),
 * in the order of the spec: the one table of their element names, for both sides of the
 * reporting rollup (the upstream's decoding and storage, the downstream's requests).
 */
#ifndef WSUS_ROLLUP_SUMMARY_H
#define WSUS_ROLLUP_SUMMARY_H

#define ROLLUP_SUMMARY_COUNT 18
/* "UpdateCount", ... "ComputersUpToDateCount" (i < ROLLUP_SUMMARY_COUNT). */
extern const char *const rollup_summary_names[ROLLUP_SUMMARY_COUNT];

#endif
