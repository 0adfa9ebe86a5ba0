
Boutput_1J‰»â±