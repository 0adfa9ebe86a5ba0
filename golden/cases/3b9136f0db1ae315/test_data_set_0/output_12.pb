B	output_12JŠ
@