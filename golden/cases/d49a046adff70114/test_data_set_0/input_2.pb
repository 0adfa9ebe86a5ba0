
Bw1_betaJ8¥ù¶~œ‹: