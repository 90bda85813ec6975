# src/runtime: what every server-side part shares (settings, metrics registry, JSON).
ALLOY_OBJS += src/runtime/settings.o src/runtime/metrics.o src/runtime/json.o
