# init/: PID 1 -- gathers the inputs, runs the planner (plan/), executes
# the plan: one file per stage.
INIT_SRCS += init/main.c init/log.c init/ops.c init/modload.c init/storage.c init/plan.c \
	init/kc.c init/modhelper.c init/system.c init/cryptex.c init/data.c init/handoff.c init/update.c
