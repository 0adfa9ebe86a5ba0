
Boutput_2J^.xA(¶+¼