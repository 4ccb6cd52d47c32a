/* SPDX-License-Identifier: MIT */
#ifndef RMAPD_API_RUN_H
#define RMAPD_API_RUN_H

/* `rmapd run [--observe] FILE.json`: argv[0] is "run". */
int rmapd_run_main(int argc, char **argv);

#endif /* RMAPD_API_RUN_H */
