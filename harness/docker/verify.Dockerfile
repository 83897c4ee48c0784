# The verification image: Debian sid with JDK 8 (what Hadoop 2.x builds and
# tests on) and Maven, which runs an upstream test through its module's own
# Surefire configuration. FROM is the base image that `hpatch image base` makes with
# debootstrap + docker import, since no image registry is assumed reachable.
ARG BASE=hpatch-base:sid
FROM ${BASE}
RUN apt-get -o Acquire::Check-Valid-Until=false update -qq \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
      openjdk-8-jdk-headless maven procps coreutils findutils unzip \
 && rm -rf /var/lib/apt/lists/*
ENV HPATCH_JAVA_HOME=/usr/lib/jvm/java-8-openjdk-amd64
