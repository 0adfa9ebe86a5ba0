
Binput_2JP¼BEÃ@*À