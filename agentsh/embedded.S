/* The default config and policy, compiled into the binary (see agentsh/embedded.h). */
    .section .rodata
    .global agentsh_embedded_config
    .global agentsh_embedded_config_end
    .global agentsh_embedded_policy
    .global agentsh_embedded_policy_end
agentsh_embedded_config:
    .incbin "conf/config.yaml"
agentsh_embedded_config_end:
    .byte 0
agentsh_embedded_policy:
    .incbin "conf/policies/default.yaml"
agentsh_embedded_policy_end:
    .byte 0
    .section .note.GNU-stack,"",@progbits
