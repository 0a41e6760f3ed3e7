// Placeholder until the hook issue lands.
extern "C" __attribute__((visibility("default"))) int agentsh_hook_version() { return 0; }
