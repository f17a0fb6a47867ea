/*
 * rollup_summary: the element names of the rollup summary counts (see rollup_summary.h).
 */
#include "rollup_summary.h"

const char *const rollup_summary_names[ROLLUP_SUMMARY_COUNT] = {
    "UpdateCount",
    "DeclinedUpdateCount",
    "ApprovedUpdateCount",
    "NotApprovedUpdateCount",
    "UpdatesWithStaleUpdateApprovalsCount",
    "ExpiredUpdateCount",
    "CriticalOrSecurityUpdatesNotApprovedForInstallCount",
    "WsusInfrastructureUpdatesNotApprovedForInstallCount",
    "UpdatesWithClientErrorsCount",
    "UpdatesWithServerErrorsCount",
    "UpdatesNeedingFilesCount",
    "UpdatesNeededByComputersCount",
    "UpdatesUpToDateCount",
    "CustomComputerTargetGroupCount",
    "ComputerTargetCount",
    "ComputerTargetsNeedingUpdatesCount",
    "ComputerTargetsWithUpdateErrorsCount",
    "ComputersUpToDateCount",
};
