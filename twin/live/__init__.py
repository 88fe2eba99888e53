"""The live twin: fork a running world into what-if branches, shadow a real system over MQTT."""
