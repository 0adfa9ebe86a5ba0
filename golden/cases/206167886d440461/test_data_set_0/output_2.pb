
Boutput_2J=¬:©<EDµ5j>Z;<